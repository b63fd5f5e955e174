/**
 * Verified parts kept in memory for readers, across every file the mount is reading: least
 * recently used first out, once the budget is passed. A part not yet on disk is pinned (it is the
 * only copy) until its write is done; an evicted part is read back from disk. A part's buffer goes
 * to `release` once the cache lets go of it.
 */

type Entry = {bytes: Buffer; pinned: boolean};

export class PartCache {
	readonly #budgetBytes: number;
	/** Insertion order is use order: a hit moves the entry to the end. */
	readonly #entries = new Map<string, Entry>();
	#bytes = 0;

	readonly #release: (bytes: Buffer) => void;

	constructor(budgetBytes: number, release: (bytes: Buffer) => void = () => {}) {
		this.#budgetBytes = budgetBytes;
		this.#release = release;
	}

	get bytes(): number {
		return this.#bytes;
	}

	get(key: string): Buffer | undefined {
		const entry = this.#entries.get(key);
		if (entry) {
			this.#entries.delete(key);
			this.#entries.set(key, entry);
		}

		return entry?.bytes;
	}

	has(key: string): boolean {
		return this.#entries.has(key);
	}

	/** A verified part; `pinned` until it is on disk. */
	put(key: string, bytes: Buffer, {pinned}: {pinned: boolean}): void {
		this.delete(key);
		this.#entries.set(key, {bytes, pinned});
		this.#bytes += bytes.length;
		this.#evict();
	}

	/** The part is on disk now: it may be evicted. */
	unpin(key: string): void {
		const entry = this.#entries.get(key);
		if (entry) {
			entry.pinned = false;
			this.#evict();
		}
	}

	delete(key: string): void {
		const entry = this.#entries.get(key);
		if (entry) {
			this.#entries.delete(key);
			this.#bytes -= entry.bytes.length;
			this.#release(entry.bytes);
		}
	}

	/** Drops every part whose key starts with `prefix` (a file the mount is done with). */
	deleteAll(prefix: string): void {
		for (const key of this.#entries.keys()) {
			if (key.startsWith(prefix)) {
				this.delete(key);
			}
		}
	}

	#evict(): void {
		for (const [key, entry] of this.#entries) {
			if (this.#bytes <= this.#budgetBytes) {
				return;
			}

			if (!entry.pinned) {
				this.delete(key);
			}
		}
	}
}
