import test from 'ava';
import {expectedFinishMs, pickHolder, smoothedRate, type HolderLoad} from '../../../source/core/part-demand.js';

const part = 4 * 1024 * 1024;
const holder = (id: string, fields: Partial<HolderLoad> = {}): HolderLoad => ({id, latencyMs: 0, inFlight: 0, pendingBytes: 0, ...fields});

test('an idle holder takes the part; the cheaper one first on a tie', t => {
	t.is(pickHolder([holder('A'), holder('B')], part), 'A');
	t.is(pickHolder([holder('A', {latencyMs: 50}), holder('B')], part), 'B');
});

test('the best holder busy but far quicker: the part waits for it rather than going to a slow one', t => {
	const fast = holder('A', {inFlight: 2, pendingBytes: part, bytesPerMs: 100_000});
	const slow = holder('B', {bytesPerMs: 1000});
	t.is(pickHolder([fast, slow], part), undefined);
});

test('a second holder takes a part when it would deliver sooner than waiting for the first', t => {
	const busy = holder('A', {inFlight: 2, pendingBytes: 2 * part, bytesPerMs: 10_000});
	const idle = holder('B', {latencyMs: 10, bytesPerMs: 10_000});
	t.is(pickHolder([busy, idle], part), 'B');
	// One request in flight leaves room for the next on the same holder.
	t.is(pickHolder([holder('A', {inFlight: 1, pendingBytes: 1000, bytesPerMs: 10_000}), holder('B', {bytesPerMs: 1000})], part), 'A');
});

test('an unmeasured holder is assumed as fast as the fastest measured one', t => {
	const measured = holder('A', {inFlight: 1, pendingBytes: part, bytesPerMs: 1000});
	t.is(expectedFinishMs(holder('B'), part, 1000), part / 1000);
	t.is(pickHolder([measured, holder('B', {latencyMs: 5})], part), 'B');
});

test('no holder at all: nothing to pick', t => {
	t.is(pickHolder([], part), undefined);
});

test('rates are smoothed, the newest part weighing half', t => {
	t.is(smoothedRate(undefined, 1000, 10), 100);
	t.is(smoothedRate(100, 3000, 10), 200);
	t.is(smoothedRate(100, 0, 10), 100);
	t.is(smoothedRate(undefined, 1000, 0), undefined);
});

test('latencies count as the delay they emulate: scaled, against rates measured in real time', t => {
	// 150 ms and 600 ms in latency.csv, at --latency-scale 0.01: 1.5 and 6 ms. A has two 256 KiB parts in flight at 4 MiB/s (125 ms to go).
	const busy = holder('A', {latencyMs: 150, inFlight: 2, pendingBytes: 512 * 1024, bytesPerMs: 4194});
	const idle = holder('B', {latencyMs: 600});
	t.is(pickHolder([busy, idle], 256 * 1024, {latencyScale: 0.01}), 'B');
	// Unscaled, B's 600 ms would look later than waiting for A.
	t.is(pickHolder([busy, idle], 256 * 1024), undefined);
	t.is(expectedFinishMs(idle, 0, 1000, 0.01), 6);
});

