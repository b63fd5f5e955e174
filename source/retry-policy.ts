/** Back-off for waiting on the tracker and on holders (pure). */

export type BackoffOptions = {baseMs: number; maxMs: number; factor?: number};

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
