import test from 'ava';
import {
	afterFailedAttempt, backoffDelay, heartbeatDelay, holderBackoff, isSuspect, nextDelayWithin, provisionalNotFoundWait,
	stallTimeouts, trackerBackoff,
} from '../../../source/core/retry-policy.js';

test('tracker back-off starts at 250 ms, doubles, and stays at 5 s', t => {
	t.deepEqual([1, 2, 3, 4, 5, 6, 7, 20].map(attempt => backoffDelay(attempt, trackerBackoff)), [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
});

test('holder back-off starts at 500 ms and stays at 4 s', t => {
	t.deepEqual([1, 2, 3, 4, 5].map(attempt => backoffDelay(attempt, holderBackoff)), [500, 1000, 2000, 4000, 4000]);
});

test('back-off honours another factor, and attempt 0 counts as the first', t => {
	t.is(backoffDelay(3, {baseMs: 100, maxMs: 10_000, factor: 3}), 900);
	t.is(backoffDelay(0, trackerBackoff), 250);
});

test('nextDelayWithin never sleeps past the deadline and gives up once it has passed', t => {
	t.is(nextDelayWithin(1, 0, 60_000, trackerBackoff), 250);
	t.is(nextDelayWithin(6, 10_000, 60_000, trackerBackoff), 5000);
	t.is(nextDelayWithin(6, 58_500, 60_000, trackerBackoff), 1500);
	t.is(nextDelayWithin(2, 60_000, 60_000, trackerBackoff), undefined);
	t.is(nextDelayWithin(1, 0, 0, trackerBackoff), undefined);
});

test('heartbeats come every interval, and after failures with the tracker back-off capped at the interval', t => {
	t.is(heartbeatDelay(0, 5000), 5000);
	t.deepEqual([1, 2, 3, 4, 5, 6].map(failures => heartbeatDelay(failures, 5000)), [250, 500, 1000, 2000, 4000, 5000]);
	t.deepEqual([1, 2, 3].map(failures => heartbeatDelay(failures, 200)), [200, 200, 200]);
});

test('stall timeouts: the floor for short latencies, twice the latency for long ones, latency on top for the first byte', t => {
	t.deepEqual(stallTimeouts(1.5), {firstByteMs: 3001.5, idleMs: 3000});
	t.deepEqual(stallTimeouts(4500), {firstByteMs: 13_500, idleMs: 9000});
	t.deepEqual(stallTimeouts(100, 50), {firstByteMs: 300, idleMs: 200});
	t.deepEqual(stallTimeouts(-5, 1000), {firstByteMs: 1000, idleMs: 1000});
});

test('a mismatching holder gets one more try; any other failure moves on', t => {
	t.is(afterFailedAttempt('checksum-mismatch', 1), 'again');
	t.is(afterFailedAttempt('checksum-mismatch', 2), 'next');
	for (const outcome of ['down', 'dropped', 'stalled', 'not-found', 'refused'] as const) {
		t.is(afterFailedAttempt(outcome, 0), 'next', outcome);
	}
});

test('holders that may be dead are reported; a wrong answer is not', t => {
	t.deepEqual(
		(['ok', 'checksum-mismatch', 'down', 'dropped', 'stalled', 'not-found', 'refused'] as const).filter(outcome => isSuspect(outcome)),
		['down', 'dropped', 'stalled'],
	);
});

test('a NOT_FOUND is provisional for one heartbeat after the tracker came back', t => {
	t.is(provisionalNotFoundWait(10_000, undefined, 5000), undefined);
	t.is(provisionalNotFoundWait(10_000, 9000, 5000), 4000);
	t.is(provisionalNotFoundWait(14_000, 9000, 5000), undefined);
	t.is(provisionalNotFoundWait(20_000, 9000, 5000), undefined);
});
