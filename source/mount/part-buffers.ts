/**
 * The memory parts are received into, reused: allocating (and zeroing) a fresh buffer of a few MiB
 * for every part would have the garbage collector run full collections for the external memory
 * alone. A buffer owns its memory whole, so it can be moved to the hashing thread and back.
 *
 * A buffer comes back here only when nothing holds it: its fetch failed, or the cache let it go.
 * The cache hands readers slices of its buffers, which the FUSE glue copies in the same turn of
 * the event loop; a reused buffer is written only by a socket's data events, in a later turn.
 */

export class PartBuffers {
	readonly #maxIdleBytes: number;
	/** Idle memory by capacity (a file's part size). */
	readonly #idle = new Map<number, ArrayBuffer[]>();
	#idleBytes = 0;

	constructor(maxIdleBytes: number) {
		this.#maxIdleBytes = maxIdleBytes;
	}

	get idleBytes(): number {
		return this.#idleBytes;
	}

	/** A buffer of `length` bytes over memory of `capacity` bytes (the part size: every part but the last fills it). */
	take(capacity: number, length: number): Buffer {
		const memory = this.#idle.get(capacity)?.pop();
		if (memory) {
			this.#idleBytes -= memory.byteLength;
			return Buffer.from(memory, 0, length);
		}

		return Buffer.from(new ArrayBuffer(Math.max(capacity, length)), 0, length);
	}

	/** Takes back a buffer made by take() that nothing refers to any more. */
	give(bytes: Buffer): void {
		const memory = bytes.buffer;
		if (!(memory instanceof ArrayBuffer) || memory.byteLength === 0 || this.#idleBytes + memory.byteLength > this.#maxIdleBytes) {
			return;
		}

		const list = this.#idle.get(memory.byteLength) ?? [];
		list.push(memory);
		this.#idle.set(memory.byteLength, list);
		this.#idleBytes += memory.byteLength;
	}
}
