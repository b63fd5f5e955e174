/** Retry and timeout choices for waiting on the tracker and on holders (pure: numbers in, decisions out). */
import type {Outcome} from './transfer-types.js';

export type {Outcome} from './transfer-types.js';

export type BackoffOptions = {baseMs: number; maxMs: number; factor?: number};

/** Tracker waits start at 250 ms and double up to 5 s: a restart is noticed fast, a long outage costs one request per 5 s. */
export const trackerBackoff: BackoffOptions = {baseMs: 250, maxMs: 5000};
/** Retries after every holder failed start at 500 ms and double up to 4 s. */
export const holderBackoff: BackoffOptions = {baseMs: 500, maxMs: 4000};
/** Silence tolerated mid-transfer before a holder counts as stalled, at the least. */
export const idleFloorMs = 3000;
/** A holder that sent bytes not matching the md5 gets this many tries in one download. */
export const maxMismatchesPerHolder = 2;

/** Capped exponential back-off: base·factor^(attempt-1), at most maxMs. Attempt counts from 1. */
export function backoffDelay(attempt: number, {baseMs, maxMs, factor = 2}: BackoffOptions): number {
	const exponent = Math.max(0, attempt - 1);
	return Math.min(maxMs, baseMs * (factor ** exponent));
}

/** The delay before the next attempt, or undefined when the deadline would pass first. */
export function nextDelayWithin(attempt: number, elapsedMs: number, waitLimitMs: number, options: BackoffOptions): number | undefined {
	const remaining = waitLimitMs - elapsedMs;
	if (remaining <= 0) {
		return undefined;
	}

	return Math.min(backoffDelay(attempt, options), remaining);
}

/** The membership loop's next heartbeat: the interval when all is well, the tracker back-off (never longer than the interval) after failures. */
export function heartbeatDelay(failures: number, heartbeatMs: number): number {
	return failures === 0 ? heartbeatMs : Math.min(heartbeatMs, backoffDelay(failures, trackerBackoff));
}

export type StallTimeouts = {firstByteMs: number; idleMs: number};

/**
 * How long a receiver waits for a holder before calling it stalled. The first byte
 * comes after the emulated latency, so it gets that on top of the idle allowance;
 * mid-transfer silence is allowed twice the latency (a slow link) but never less than the floor.
 */
export function stallTimeouts(expectedLatencyMs: number, floorMs = idleFloorMs): StallTimeouts {
	const latency = Math.max(0, expectedLatencyMs);
	const idleMs = Math.max(floorMs, 2 * latency);
	return {firstByteMs: latency + idleMs, idleMs};
}

/** After a failed attempt at a holder: try it again at once, or go on to the next one. `mismatches` counts this attempt's. */
export function afterFailedAttempt(outcome: Exclude<Outcome, 'ok'>, mismatches: number): 'again' | 'next' {
	// A flipped byte is often a one-off; a holder that refused, dropped or stalled would likely do it again.
	return outcome === 'checksum-mismatch' && mismatches < maxMismatchesPerHolder ? 'again' : 'next';
}

/** Outcomes that make a holder worth reporting to the tracker as possibly dead (it checks before dropping). */
export function isSuspect(outcome: Outcome): boolean {
	return outcome === 'down' || outcome === 'dropped' || outcome === 'stalled';
}

/**
 * A NOT_FOUND from a tracker that came back less than one heartbeat ago is provisional:
 * the other peers may not have re-sent their lists yet. Returns how long to wait before
 * asking again, or undefined when the answer stands.
 */
export function provisionalNotFoundWait(nowMs: number, trackerBackAtMs: number | undefined, heartbeatMs: number): number | undefined {
	if (trackerBackAtMs === undefined) {
		return undefined;
	}

	const settledAt = trackerBackAtMs + heartbeatMs;
	return nowMs < settledAt ? settledAt - nowMs : undefined;
}
