import net from 'node:net';
import test from 'ava';
import {eventually, getJson, shareDir, startPeer, startTracker} from '../helpers/processes.js';

/** A socket that accepts connections and never answers: a wrong --advertise that still connects. */
async function blackHole(t: {teardown: (fn: () => void) => void}): Promise<string> {
	const sockets: net.Socket[] = [];
	const server = net.createServer(socket => {
		sockets.push(socket);
	});
	await new Promise<void>(resolve => {
		server.listen(0, '127.0.0.1', resolve);
	});
	t.teardown(() => {
		for (const socket of sockets) {
			socket.destroy();
		}

		server.close();
	});
	return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

test('a peer that heartbeats but cannot be reached at its advertised URL is not offered, and it is told so', async t => {
	const tracker = await startTracker(t);
	const wrong = await blackHole(t);
	const a = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true, args: ['--advertise', wrong]});
	// The ready line names both URLs; the peer's own check of the advertised one warns at start.
	t.not(a.url, wrong);
	const said = async (pattern: RegExp) => eventually(() => (a.stderr.lines.some(line => pattern.test(line)) ? true : undefined));
	await said(/advertised URL .* does not answer as this peer/);
	// The tracker's probe at registration failed: A's heartbeats arrive, yet Find does not offer it.
	await eventually(async () => ((await getJson(`${tracker.url}/files/song.mp3`)).status === 404 ? true : undefined));
	t.deepEqual((await getJson(`${tracker.url}/peers`)).body.peers.map((peer: {id: string}) => peer.id), ['A']);
	await said(/the tracker cannot reach this peer at/);
	// A downloader is not sent to it (no GetLoad timeout paid): nobody else holds the file.
	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: tracker.url});
	const started = Date.now();
	t.like(await me.run('download song.mp3'), {ok: false, error: {code: 'NOT_FOUND'}});
	t.true(Date.now() - started < 1000);
});
