/** Part geometry (pure): how a file is cut into parts, and byte spans of verified data. */

/** Parts are a few MiB: large enough to amortise a request's latency, small enough to spread over holders. */
export const defaultPartSize = 4 * 1024 * 1024;
/** Bounds on a part size a holder may announce: a part is held in memory while it is checked. */
export const minPartSize = 64 * 1024;
export const maxPartSize = 64 * 1024 * 1024;

/** A byte span [start, end): end is exclusive. */
export type ByteSpan = {start: number; end: number};

export function partCount(size: number, partSize: number): number {
	return Math.ceil(size / partSize);
}

export function partSpan(index: number, size: number, partSize: number): ByteSpan {
	const start = index * partSize;
	return {start, end: Math.min(size, start + partSize)};
}

/** Adds a span to a sorted list of disjoint spans, merging neighbours. */
export function addSpan(spans: readonly ByteSpan[], added: ByteSpan): ByteSpan[] {
	const merged: ByteSpan[] = [];
	let current = {...added};
	for (const span of spans) {
		if (span.end < current.start) {
			merged.push(span);
		} else if (span.start > current.end) {
			merged.push(current);
			current = {...span};
		} else {
			current = {start: Math.min(current.start, span.start), end: Math.max(current.end, span.end)};
		}
	}

	merged.push(current);
	return merged.sort((a, b) => a.start - b.start);
}

/** Parts of a file whose bytes lie wholly inside the given spans (candidates for reuse after a restart). */
export function partsWithin(spans: readonly ByteSpan[], size: number, partSize: number): number[] {
	const covered: number[] = [];
	for (let index = 0; index < partCount(size, partSize); index++) {
		const part = partSpan(index, size, partSize);
		if (spans.some(span => span.start <= part.start && part.end <= span.end)) {
			covered.push(index);
		}
	}

	return covered;
}
