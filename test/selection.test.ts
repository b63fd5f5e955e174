import http from 'node:http';
import test from 'ava';
import {defaultK} from '../source/cost.js';
import {eventually, getJson, shareDir, startPeer, startTracker} from './helpers/processes.js';

/** Opens a download of `name` from `url` and keeps it open until teardown: one unit of load at that holder. */
function holdUploadOpen(t: {teardown: (fn: () => void) => void}, url: string, name: string): void {
	const request = http.get(`${url}/files/${name}`, {headers: {'x-xfs-peer': 'someone'}}, response => {
		response.resume();
	});
	request.on('error', () => {});
	t.teardown(() => {
		request.destroy();
	});
}

test('the nearest holder is busy: cost sends the download elsewhere, latency does not', async t => {
	// latency.csv: me–A 150 ms, me–B 600 ms.
	const tracker = await startTracker(t);
	// A uploads slowly, so the uploads below stay in progress for the whole test.
	const a = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true, args: ['--upload-limit', '20000']});
	await startPeer(t, {id: 'B', dir: await shareDir(t, 'B'), tracker: tracker.url, serve: true});
	const busy = 4;
	for (let upload = 0; upload < busy; upload++) {
		holdUploadOpen(t, a.url, 'song.mp3');
	}

	await eventually(async () => ((await getJson(`${a.url}/load`)).body.load === busy ? true : undefined));

	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: tracker.url});
	const found = await me.run('find readme.txt');
	t.true(150 + (busy * defaultK) > 600, 'the default k makes four uploads outweigh 450 ms of latency');
	t.deepEqual(found.peers.map((peer: any) => [peer.id, peer.latencyMs, peer.load, peer.cost]), [['B', 600, 0, 600], ['A', 150, busy, 150 + (busy * defaultK)]]);
	const chosen = await me.run('download readme.txt');
	t.is(chosen.ok, true);
	t.is(chosen.from, 'B');
	t.deepEqual(chosen.attempts, [{peer: 'B', outcome: 'ok'}]);
	me.end();
	t.is((await me.exited).code, 0);

	// The same peer again, choosing by latency alone: it goes to the busy nearest holder.
	const greedy = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: tracker.url, args: ['--policy', 'latency']});
	const nearest = await greedy.run('download readme.txt');
	t.is(nearest.ok, true);
	t.is(nearest.from, 'A');
	t.is(nearest.md5, chosen.md5);
});
