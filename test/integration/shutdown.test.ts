import test from 'ava';
import {eventually, fastPeerArgs, getJson, peerEntry, shareDir, startChild, startPeer, startTracker} from '../helpers/processes.js';

test('SIGTERM during an upload ends it, leaves the tracker and exits 0; the downloader moves on', async t => {
	const tracker = await startTracker(t);
	// A stalls every upload after 1000 bytes, so its upload is still running when it is told to stop.
	const a = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true, args: ['--fault', 'stall-after=1000']});
	await startPeer(t, {id: 'B', dir: await shareDir(t, 'B'), tracker: tracker.url, serve: true});
	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: tracker.url});
	me.child.stdin.write('download song.mp3\n');
	await eventually(async () => ((await getJson(`${a.url}/load`)).body.load === 1 ? true : undefined));
	a.child.kill('SIGTERM');
	t.deepEqual(await a.exited, {code: 0, signal: null});
	t.deepEqual((await getJson(`${tracker.url}/peers`)).body.peers.map((peer: any) => peer.id).sort(), ['B', 'me']);
	const result = JSON.parse(await me.stdout.next(line => line.startsWith('{"cmd"')));
	t.is(result.ok, true);
	t.is(result.from, 'B');
	t.is(result.attempts[0].peer, 'A');
	t.not(result.attempts[0].outcome, 'ok');
	t.is((await getJson(`${me.url}/load`)).body.load, 0);
});

for (const [mode, args, exit] of [['--serve', ['--serve'], 0], ['scripted', [], 130]] as const) {
	test(`SIGTERM the moment the ready line appears (${mode}): the peer still leaves the tracker and exits ${exit}`, async t => {
		const tracker = await startTracker(t);
		const dir = await shareDir(t, 'A');
		// Three starts, each stopped from inside the 'data' handler that sees its ready line: no later than any supervisor could.
		for (let round = 1; round <= 3; round++) {
			const peer = startChild(t, peerEntry, ['--id', 'A', '--dir', dir, '--tracker', tracker.url, '--json', ...fastPeerArgs, ...args]);
			peer.child.stdout.on('data', (chunk: Buffer) => {
				if (chunk.toString().includes('"event":"ready"')) {
					peer.child.kill('SIGTERM');
				}
			});
			t.deepEqual(await peer.exited, {code: exit, signal: null}, `round ${round}`);
			t.deepEqual((await getJson(`${tracker.url}/peers`)).body.peers, [], `round ${round}`);
		}
	});
}
