/** Which parts a read through the mount needs, and how far ahead a sequential reader is served (pure). */
import {partCount} from './part-geometry.js';

/** The parts that hold bytes [offset, offset + length) of a file of `size` bytes: none past the end. */
export function partsCovering(offset: number, length: number, size: number, partSize: number): number[] {
	const end = Math.min(size, offset + length);
	if (offset < 0 || offset >= end) {
		return [];
	}

	const first = Math.floor(offset / partSize);
	const last = Math.floor((end - 1) / partSize);
	return Array.from({length: last - first + 1}, (_, index) => first + index);
}

export type ReadAheadOptions = {
	/** Parts fetched ahead once a reader is seen reading in order. */
	firstWindowParts?: number;
	/** The window stops growing here. */
	maxWindowBytes?: number;
	/**
	 * A read this close to where the last one ended still counts as in order: the kernel sends
	 * its own read-ahead as several requests at once, and they arrive out of order.
	 */
	slackBytes?: number;
};

export type ReadPlan = {
	/** Parts the read waits for. */
	needed: number[];
	/** Parts worth fetching now because the reader will want them next. */
	ahead: number[];
};

export const defaultMaxWindowBytes = 32 * 1024 * 1024;
const defaultSlackBytes = 1024 * 1024;

/**
 * One reader's read-ahead (one open file handle). A reader that starts at the beginning or goes
 * on where it stopped is sequential: it is served the next part ahead, and the window doubles each
 * time it moves into a new part, up to `maxWindowBytes`. A seek ends the read-ahead until the
 * reader is seen going on in order again, so `head` of a large file costs a part or two, not the file.
 */
export class ReadAhead {
	readonly #size: number;
	readonly #partSize: number;
	readonly #firstWindow: number;
	readonly #maxWindow: number;
	readonly #slack: number;
	/** Parts served ahead of the last part read. */
	#window = 0;
	/** Where the furthest read so far ended; undefined before the first read. */
	#end: number | undefined;
	#lastPart = -1;

	constructor(size: number, partSize: number, {firstWindowParts = 1, maxWindowBytes = defaultMaxWindowBytes, slackBytes = defaultSlackBytes}: ReadAheadOptions = {}) {
		this.#size = size;
		this.#partSize = partSize;
		this.#maxWindow = Math.max(1, Math.floor(maxWindowBytes / partSize));
		this.#firstWindow = Math.min(this.#maxWindow, Math.max(1, firstWindowParts));
		this.#slack = slackBytes;
	}

	/** Parts ahead of the reader right now. */
	get windowParts(): number {
		return this.#window;
	}

	plan(offset: number, length: number): ReadPlan {
		const needed = partsCovering(offset, length, this.#size, this.#partSize);
		if (needed.length === 0) {
			return {needed, ahead: []};
		}

		const end = Math.min(this.#size, offset + length);
		const inOrder = this.#end === undefined ? offset === 0 : Math.abs(offset - this.#end) <= this.#slack;
		const last = needed.at(-1)!;
		if (!inOrder) {
			this.#window = 0;
		} else if (last > this.#lastPart || this.#window === 0) {
			this.#window = this.#window === 0 ? this.#firstWindow : Math.min(this.#maxWindow, this.#window * 2);
		}

		this.#end = inOrder ? Math.max(this.#end ?? 0, end) : end;
		this.#lastPart = inOrder ? Math.max(this.#lastPart, last) : last;
		const parts = partCount(this.#size, this.#partSize);
		const from = this.#lastPart + 1;
		const to = Math.min(parts, from + this.#window);
		const ahead = Array.from({length: Math.max(0, to - from)}, (_, index) => from + index);
		return {needed, ahead};
	}
}
