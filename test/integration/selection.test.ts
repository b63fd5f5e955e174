import http from 'node:http';
import test from 'ava';
import {defaultK} from '../../source/core/cost.js';
import {
	checkExpectation, chooseK, fileName, holdings, latencyCsv, makeWorkload, meanByK, quantile, type Sample, summarize,
} from '../../bench/selection-workload.js';
import {eventually, getJson, shareDir, startPeer, startTracker} from '../helpers/processes.js';

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

test('summaries: mean, nearest-rank p95 and median', t => {
	const times = Array.from({length: 20}, (_, index) => (index + 1) * 10);
	t.deepEqual(summarize(times, 2), {downloads: 20, failed: 2, meanMs: 105, p95Ms: 190, medianMs: 100});
	t.is(quantile([5], 0.95), 5);
});

test('the workload is the same for the same seed, and a file on h hosts is on the first h of the holder order', t => {
	const workload = makeWorkload({seed: 7, holders: 4, seats: 2, downloadsEach: 1});
	t.deepEqual(makeWorkload({seed: 7, holders: 4, seats: 2, downloadsEach: 1}), workload);
	const held = holdings(workload, [1, 3], 2);
	const name = fileName(3, 'd2-c1', 0);
	t.deepEqual(workload.holders.filter(holder => held.get(holder)!.includes(name)).sort(), workload.holderOrder.slice(0, 3).sort());
	t.is([...held.values()].flat().length, (1 + 3) * 2 * 2);
	const rows = latencyCsv(workload, 2).trim().split('\n');
	t.is(rows.length, 1 + (2 * 2 * 4));
	t.true(rows.slice(1).every(row => /^d\d-c\d,h\d,\d+$/.test(row)));
});

test('every round has its own start offsets, each in [0, 1)', t => {
	const workload = makeWorkload({seed: 7, holders: 4, seats: 3, downloadsEach: 1, rounds: 4});
	const offsets = workload.seats.map(seat => workload.startOffsets.get(seat)!);
	t.true(offsets.every(bySeat => bySeat.length === 4 && bySeat.every(offset => offset >= 0 && offset < 1)));
	t.is(new Set(offsets.flat()).size, 3 * 4);
});

function samplesOf(k: number, replicateMeans: number[]): Sample[] {
	return replicateMeans.flatMap((ms, round) => [ms - 10, ms + 10].map(time => ({
		seed: 1, round, configuration: {policy: 'cost' as const, k}, hosts: 2, seat: 'd1', n: round, ms: time, ok: true,
	})));
}

test('k: the smallest k within one standard error of the lowest mean', t => {
	const byK = meanByK([...samplesOf(100, [500, 520]), ...samplesOf(1000, [400, 420]), ...samplesOf(4000, [395, 405])]);
	t.deepEqual(byK.map(({k, meanMs, standardErrorMs, replicates}) => [k, meanMs, standardErrorMs, replicates]), [[100, 510, 10, 2], [1000, 410, 10, 2], [4000, 400, 5, 2]]);
	// 410 is more than 5 above the best (400 ± 5): 4000 wins; with a wider error 1000 would.
	t.is(chooseK(byK), 4000);
	t.is(chooseK(meanByK([...samplesOf(1000, [400, 420]), ...samplesOf(4000, [390, 410])])), 1000);
});

test('the expectation: falls overall, 20% below random and no worse than latency at the most hosts', t => {
	const means = new Map([
		['cost', new Map([[1, 1000], [4, 420], [8, 400]])],
		['random', new Map([[1, 1000], [4, 520], [8, 500]])],
		['latency', new Map([[1, 1000], [4, 450], [8, 460]])],
	]);
	t.deepEqual(checkExpectation(means, [1, 4, 8]).map(verdict => verdict.holds), [true, true, true]);
	means.get('cost')!.set(8, 430);
	t.deepEqual(checkExpectation(means, [1, 4, 8]).map(verdict => verdict.holds), [true, false, true]);
});
