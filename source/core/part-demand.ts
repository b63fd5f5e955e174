/**
 * Which holder fetches the next part a reader wants (pure): the one expected to deliver it first,
 * counting what it is already sending. A second holder is used only when it would deliver sooner
 * than waiting for the first, which is when fetching from several holders pays.
 */

export type HolderLoad = {
	id: string;
	/** The latency to it as latency.csv gives it (ms); the delay it emulates is this times the latency scale. */
	latencyMs: number;
	/** Part requests it is serving for this file now. */
	inFlight: number;
	/** Bytes of those requests not yet received. */
	pendingBytes: number;
	/** Measured transfer rate; undefined until it has sent a part. */
	bytesPerMs?: number;
};

/** A holder serves at most this many part requests of one file at once: the next is asked for while one is in flight, hiding its latency. */
export const maxInFlightPerHolder = 2;
/** Rate assumed for a holder not yet measured when none is: 100 MB/s, so latency decides between unmeasured holders. */
const assumedBytesPerMs = 100_000;

/** How the holders are weighed: at most `maxInFlight` requests each, and the delay each emulates, `latencyMs × latencyScale` (--latency-scale). */
export type PickOptions = {maxInFlight?: number; latencyScale?: number};

/**
 * When `holder` would deliver `bytes` more, given what it is already sending. Its rate is measured in
 * real time, so its latency counts as the delay it really adds: scaled.
 */
export function expectedFinishMs(holder: HolderLoad, bytes: number, fallbackBytesPerMs: number, latencyScale = 1): number {
	const rate = holder.bytesPerMs ?? fallbackBytesPerMs;
	// Requests in flight each waited out their own latency already; a new one pays it again.
	return (holder.latencyMs * latencyScale) + ((holder.pendingBytes + bytes) / rate);
}

/**
 * The holder to ask for a part of `bytes` now, or undefined when the best one is busy and every
 * other would deliver later than it (the part waits for it). `holders` come best first by cost:
 * ties go to the cheaper one.
 */
export function pickHolder(holders: readonly HolderLoad[], bytes: number, {maxInFlight = maxInFlightPerHolder, latencyScale = 1}: PickOptions = {}): string | undefined {
	const measured = holders.flatMap(holder => (holder.bytesPerMs === undefined ? [] : [holder.bytesPerMs]));
	const fallback = measured.length > 0 ? Math.max(...measured) : assumedBytesPerMs;
	let best: HolderLoad | undefined;
	let bestFinish = Number.POSITIVE_INFINITY;
	for (const holder of holders) {
		const finish = expectedFinishMs(holder, bytes, fallback, latencyScale);
		if (finish < bestFinish) {
			best = holder;
			bestFinish = finish;
		}
	}

	return best && best.inFlight < maxInFlight ? best.id : undefined;
}

/** A smoothed transfer rate: the newest part's rate weighs half. */
export function smoothedRate(previous: number | undefined, bytes: number, elapsedMs: number): number | undefined {
	if (bytes <= 0 || elapsedMs <= 0) {
		return previous;
	}

	const rate = bytes / elapsedMs;
	return previous === undefined ? rate : (previous + rate) / 2;
}
