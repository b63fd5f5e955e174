import test from 'ava';
import {eventually, getJson, shareDir, startPeer, startTracker} from './helpers/processes.js';

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
