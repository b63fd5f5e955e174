import test from 'ava';
import {drainTime, minSplitBytes, PartScheduler} from '../../../source/core/part-scheduler.js';

test('drain time hands each part to whoever is free first', t => {
	const fast = {freeAtMs: 0, fetchMs: (bytes: number) => bytes / 10};
	const slow = {freeAtMs: 5, fetchMs: (bytes: number) => bytes};
	t.is(drainTime([fast, slow], [10, 10, 10]), 3);
	t.is(drainTime([slow], [10]), 15);
	t.is(drainTime([], []), 0);
	t.is(drainTime([], [1]), Number.POSITIVE_INFINITY);
});

type SimHolder = {id: string; ttfbMs: number; bytesPerMs: number};

/** Runs a scheduler against holders of fixed speed on a virtual clock; returns parts per holder, races and the end time. */
function simulate(holders: SimHolder[], parts: number[], verified: number[] = []) {
	const scheduler = new PartScheduler(parts, verified);
	for (const holder of holders) {
		scheduler.join(holder.id);
	}

	const byId = new Map(holders.map(holder => [holder.id, holder]));
	const running = new Map<string, {part: number; firstByteAt: number; endsAt: number}>();
	const delivered = new Map<string, number[]>(holders.map(holder => [holder.id, []]));
	let races = 0;
	let now = 0;
	const dispatch = () => {
		for (const id of scheduler.idleHolders()) {
			const assignment = scheduler.next(id, now);
			if (assignment) {
				const holder = byId.get(id)!;
				races += assignment.race ? 1 : 0;
				running.set(id, {part: assignment.part, firstByteAt: now + holder.ttfbMs, endsAt: now + holder.ttfbMs + (parts[assignment.part]! / holder.bytesPerMs)});
			}
		}
	};

	dispatch();
	while (running.size > 0) {
		const [id, fetch] = [...running.entries()].sort(([, a], [, b]) => a.endsAt - b.endsAt)[0]!;
		now = fetch.endsAt;
		for (const [other, its] of running) {
			if (now >= its.firstByteAt) {
				scheduler.progress(other, Math.min(parts[its.part]!, Math.floor((now - its.firstByteAt) * byId.get(other)!.bytesPerMs)), now);
			}
		}

		running.delete(id);
		const {won, cancel} = scheduler.complete(id, now);
		if (won) {
			delivered.get(id)!.push(fetch.part);
		}

		for (const loser of cancel) {
			running.delete(loser);
		}

		dispatch();
	}

	return {scheduler, delivered, races, endMs: now};
}

test('faster holders get more parts, and the whole file arrives', t => {
	const parts = Array.from({length: 20}, () => 100);
	const {scheduler, delivered} = simulate([{id: 'fast', ttfbMs: 1, bytesPerMs: 10}, {id: 'slow', ttfbMs: 1, bytesPerMs: 2}], parts);
	t.true(scheduler.finished);
	t.is(delivered.get('fast')!.length + delivered.get('slow')!.length, 20);
	t.true(delivered.get('fast')!.length >= 3 * delivered.get('slow')!.length);
	t.deepEqual([...delivered.values()].flat().sort((a, b) => a - b), Array.from({length: 20}, (_, index) => index));
});

test('a slow holder leaves the last pending part to a faster one', t => {
	const scheduler = new PartScheduler([100, 100, 100, 100]);
	scheduler.join('fast');
	scheduler.join('slow');
	t.deepEqual(scheduler.next('fast', 0), {part: 0, race: false});
	t.deepEqual(scheduler.next('slow', 0), {part: 1, race: false});
	scheduler.progress('fast', 100, 10);
	t.is(scheduler.complete('fast', 10).won, true);
	t.deepEqual(scheduler.next('fast', 10), {part: 2, race: false});
	scheduler.progress('slow', 100, 100);
	t.is(scheduler.complete('slow', 100).won, true);
	// fast has measured ~10 ms a part, slow ~100 ms: the last pending part is worth waiting for.
	t.is(scheduler.next('slow', 100), undefined);
	scheduler.progress('fast', 100, 101);
	scheduler.complete('fast', 101);
	t.deepEqual(scheduler.next('fast', 101), {part: 3, race: false});
});

test('the last part is raced when a faster holder is idle, and the loser is cancelled', t => {
	const scheduler = new PartScheduler([100, 100, 100]);
	scheduler.join('fast');
	scheduler.join('slow');
	t.deepEqual(scheduler.next('fast', 0), {part: 0, race: false});
	scheduler.progress('fast', 100, 10);
	scheduler.complete('fast', 10);
	t.deepEqual(scheduler.next('fast', 10), {part: 1, race: false});
	t.deepEqual(scheduler.next('slow', 10), {part: 2, race: false});
	scheduler.progress('fast', 100, 20);
	scheduler.complete('fast', 20);
	scheduler.progress('slow', 5, 300);
	// slow has sent 5 of 100 bytes in 290 ms; fast would take about 10 ms.
	t.deepEqual(scheduler.next('fast', 300), {part: 2, race: true});
	t.deepEqual(scheduler.snapshot().map(source => source.state), ['racing', 'fetching']);
	scheduler.progress('fast', 100, 311);
	t.deepEqual(scheduler.complete('fast', 311), {won: true, part: 2, cancel: ['slow']});
	t.true(scheduler.finished);
	t.deepEqual(scheduler.snapshot(), [
		{id: 'fast', state: 'done', parts: 3, received: 300},
		{id: 'slow', state: 'done', parts: 0, received: 5},
	]);
});

test('no race when the idle holder would not beat the one fetching', t => {
	const scheduler = new PartScheduler([100, 100, 100]);
	scheduler.join('fast');
	scheduler.join('slow');
	scheduler.next('fast', 0);
	scheduler.next('slow', 0);
	scheduler.progress('fast', 100, 10);
	scheduler.complete('fast', 10);
	t.deepEqual(scheduler.next('fast', 10), {part: 2, race: false});
	scheduler.progress('slow', 100, 100);
	scheduler.complete('slow', 100);
	t.is(scheduler.next('slow', 100), undefined);
});

test('a part racing a holder of unknown speed is raced; at most two racers', t => {
	const scheduler = new PartScheduler([100]);
	for (const id of ['A', 'B', 'C']) {
		scheduler.join(id);
	}

	t.deepEqual(scheduler.next('A', 0), {part: 0, race: false});
	t.deepEqual(scheduler.next('B', 0), {part: 0, race: true});
	t.is(scheduler.next('C', 0), undefined);
});

test('a corrupt part goes to another holder, never back to the one that corrupted it while others live', t => {
	const scheduler = new PartScheduler([100, 100]);
	scheduler.join('bad');
	scheduler.join('good');
	t.deepEqual(scheduler.next('bad', 0), {part: 0, race: false});
	t.deepEqual(scheduler.next('good', 0), {part: 1, race: false});
	t.deepEqual(scheduler.corrupt('bad'), []);
	t.deepEqual(scheduler.next('bad', 1), {part: 1, race: true});
	scheduler.progress('good', 100, 5);
	t.deepEqual(scheduler.complete('good', 5), {won: true, part: 1, cancel: ['bad']});
	t.is(scheduler.next('bad', 5), undefined);
	t.deepEqual(scheduler.next('good', 5), {part: 0, race: false});
	scheduler.retire('good', 'failed');
	// The only live holder left may try the part again.
	t.deepEqual(scheduler.next('bad', 6), {part: 0, race: false});
});

test('a retired holder\'s part goes back to the others', t => {
	const scheduler = new PartScheduler([100, 100, 100]);
	scheduler.join('A');
	scheduler.join('B');
	scheduler.next('A', 0);
	scheduler.next('B', 0);
	scheduler.retire('A', 'failed');
	t.deepEqual(scheduler.idleHolders(), []);
	scheduler.progress('B', 100, 10);
	scheduler.complete('B', 10);
	t.deepEqual(scheduler.next('B', 10), {part: 0, race: false});
	t.deepEqual(scheduler.snapshot().map(source => [source.id, source.state]), [['A', 'failed'], ['B', 'fetching']]);
	t.is(scheduler.next('A', 10), undefined);
});

test('verified parts are not fetched again', t => {
	const {delivered, scheduler} = simulate([{id: 'A', ttfbMs: 1, bytesPerMs: 10}], [100, 100, 100, 100], [0, 2]);
	t.deepEqual(delivered.get('A'), [1, 3]);
	t.deepEqual(scheduler.doneParts, [0, 1, 2, 3]);
});

test('four equal holders share the parts evenly and finish close to a quarter of the time', t => {
	const parts = Array.from({length: 32}, () => 1000);
	const holders = ['A', 'B', 'C', 'D'].map(id => ({id, ttfbMs: 5, bytesPerMs: 10}));
	const {delivered, endMs} = simulate(holders, parts);
	t.deepEqual([...delivered.values()].map(list => list.length), [8, 8, 8, 8]);
	t.is(endMs, 8 * 105);
});

test('receivedBytes counts verified parts and the furthest racer of each part in flight', t => {
	const scheduler = new PartScheduler([100, 100, 50], [2]);
	scheduler.join('A');
	scheduler.join('B');
	scheduler.next('A', 0);
	scheduler.next('B', 0);
	scheduler.progress('A', 30, 1);
	scheduler.progress('B', 70, 1);
	t.is(scheduler.receivedBytes, 150);
});

const mib = 1024 * 1024;

/** A and B each fetched one 1 MiB part at 1 MiB/s with 10 ms to first byte; B is halfway through the last part. */
function halfwayThroughLastPart() {
	const scheduler = new PartScheduler([mib, mib, mib]);
	scheduler.join('A');
	scheduler.join('B');
	scheduler.next('A', 0);
	scheduler.next('B', 0);
	scheduler.progress('A', 1, 10);
	scheduler.progress('A', mib, 1010);
	scheduler.complete('A', 1010);
	scheduler.progress('B', 1, 10);
	scheduler.progress('B', mib, 1010);
	scheduler.complete('B', 1010);
	scheduler.next('B', 1010);
	scheduler.progress('B', 1, 1020);
	scheduler.progress('B', mib / 2, 1520);
	return scheduler;
}

test('an idle holder fetches the tail of the last part while the holder on it finishes the head, cut so both end together', t => {
	const scheduler = halfwayThroughLastPart();
	// Left: 512 KiB at 1 MiB/s for B; A needs 10 ms first: A takes (500 - 10) / 2 ms worth of bytes from the end.
	const tail = Math.floor(490 / (2 / (mib / 1000)));
	t.deepEqual(scheduler.next('A', 1520), {part: 2, race: true, from: mib - tail, with: 'B'});
	t.true(tail >= minSplitBytes);
	t.is(scheduler.receivedBytes, (2 * mib) + (mib / 2));
	scheduler.progress('A', tail, 1780);
	t.is(scheduler.receivedBytes, (2 * mib) + (mib / 2) + tail);
	// The engine checks head and tail together, then credits the holder that completed the part.
	t.deepEqual(scheduler.complete('A', 1780), {won: true, part: 2, cancel: ['B']});
	t.true(scheduler.finished);
});

test('a tail fetch goes when the holder of the head fails; a rejected split is raced whole next time', t => {
	let scheduler = halfwayThroughLastPart();
	t.is(scheduler.next('A', 1520)?.with, 'B');
	t.deepEqual(scheduler.retire('B', 'failed'), ['A']);
	t.deepEqual(scheduler.snapshot().map(source => source.state), ['idle', 'failed']);
	t.deepEqual(scheduler.next('A', 1521), {part: 2, race: false});

	scheduler = halfwayThroughLastPart();
	t.is(scheduler.next('A', 1520)?.with, 'B');
	scheduler.tailRejected('A');
	// Whole, A would need about 1010 ms against B's 500 left: no race, and no second split.
	t.is(scheduler.next('A', 1521), undefined);
});

test('no split when the part is nearly done or the holder on it has only just started', t => {
	const scheduler = halfwayThroughLastPart();
	scheduler.progress('B', mib - (32 * 1024), 1990);
	t.is(scheduler.next('A', 1990), undefined);

	const fresh = new PartScheduler([mib, mib]);
	fresh.join('A');
	fresh.join('B');
	fresh.next('A', 0);
	fresh.next('B', 0);
	fresh.progress('A', 1, 10);
	fresh.progress('A', mib, 1010);
	fresh.complete('A', 1010);
	fresh.progress('B', 1000, 1050);
	// B has flowed for 50 ms only and was never measured: no cut; A races the part whole.
	t.deepEqual(fresh.next('A', 1100), {part: 1, race: true});
});

test('no split with a head that has gone quiet or crawls: the part is raced whole', t => {
	const quiet = halfwayThroughLastPart();
	// B sent half the part by 1520 ms, then nothing for 600 ms.
	t.deepEqual(quiet.next('A', 2120), {part: 2, race: true});

	const crawling = new PartScheduler([mib, mib]);
	crawling.join('A');
	crawling.join('B');
	crawling.next('A', 0);
	crawling.next('B', 0);
	crawling.progress('A', 1, 10);
	crawling.progress('A', mib, 1010);
	crawling.complete('A', 1010);
	crawling.progress('B', 1, 10);
	crawling.progress('B', 200 * 1024, 1900);
	// B moves at about a fifth of A's rate: A takes the whole part rather than wait on B for a head.
	t.deepEqual(crawling.next('A', 1900), {part: 1, race: true});
});

test('swarm: a source is given only parts it holds, the rarest first', t => {
	// Parts 0-3: the seed holds all; P holds 1 and 2; Q holds 2.
	const scheduler = new PartScheduler([10, 10, 10, 10], [], {random: () => 0.5});
	scheduler.join('P', new Set([1, 2]));
	scheduler.join('Q', new Set([2]));
	t.is(scheduler.next('Q', 0)?.part, 2);
	// Part 1 (held by the seed-less P alone) before anything else P holds.
	t.is(scheduler.next('P', 0)?.part, 1);
	scheduler.complete('P', 5);
	scheduler.complete('Q', 5);
	// P has nothing left that is not done.
	t.is(scheduler.next('P', 5), undefined);
	t.false(scheduler.hasUseful('P'));
	scheduler.setHas('P', new Set([0, 1, 2]));
	t.true(scheduler.hasUseful('P'));
	t.is(scheduler.next('P', 6)?.part, 0);
	t.deepEqual(scheduler.snapshot().find(source => source.id === 'P'), {id: 'P', state: 'fetching', parts: 1, received: 0, have: 3, of: 4});
});

test('swarm: ties are broken at random, so a crowd does not all start on part 0', t => {
	const firsts = new Set<number>();
	let seed = 1;
	const random = () => {
		seed = (seed * 16_807) % 2_147_483_647;
		return seed / 2_147_483_647;
	};

	for (let downloader = 0; downloader < 8; downloader++) {
		const scheduler = new PartScheduler(Array.from({length: 16}, () => 10), [], {random});
		scheduler.join('seed');
		firsts.add(scheduler.next('seed', 0)!.part);
	}

	t.true(firsts.size >= 4, `first parts ${[...firsts].join(',')}`);
	// Without a random source (--no-swarm), parts go in file order.
	const inOrder = new PartScheduler([10, 10, 10]);
	inOrder.join('seed');
	t.is(inOrder.next('seed', 0)!.part, 0);
});

test('swarm: while a download is busy, a holder of the whole file is asked only for parts no partial source has', t => {
	const scheduler = new PartScheduler([10, 10, 10, 10], [], {random: () => 0.5});
	scheduler.join('seed');
	scheduler.join('P', new Set([0, 1, 2]));
	t.is(scheduler.next('P', 0)!.part, 0);
	// Parts 1 and 2 are P's to send; the seed gets part 3.
	t.is(scheduler.next('seed', 0)!.part, 3);
});

test('swarm: a seed is asked first for the parts it suggested, in its order, among those no partial source has', t => {
	const scheduler = new PartScheduler([10, 10, 10, 10, 10, 10], [], {random: () => 0.5});
	scheduler.join('seed');
	scheduler.join('P', new Set([0, 1]));
	t.is(scheduler.next('P', 0)!.part, 0);
	// Part 1 is P's to send, so the seed's first suggestion is passed over for its second.
	scheduler.suggest('seed', [1, 4, 3]);
	t.is(scheduler.next('seed', 0)!.part, 4);
});

test('swarm: no racing until every part left is in flight (endgame at the very end)', t => {
	const scheduler = new PartScheduler([10, 10, 10], [], {random: () => 0.5});
	scheduler.join('P', new Set([0]));
	scheduler.join('Q', new Set([0, 1]));
	scheduler.join('R', new Set([2]));
	t.is(scheduler.next('P', 0)!.part, 0);
	// Q holds 0 (in flight) and 1; it takes 1.
	t.is(scheduler.next('Q', 0)!.part, 1);
	scheduler.complete('Q', 5);
	// Part 2 is pending (R holds it and has not asked yet): Q does not race P for part 0.
	t.is(scheduler.next('Q', 6), undefined);
	t.is(scheduler.next('R', 6)!.part, 2);
	// Now every part left is in flight: Q may race P's part.
	t.deepEqual(scheduler.next('Q', 7), {part: 0, race: true});
});
