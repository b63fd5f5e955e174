/**
 * Swarm: the files this peer is downloading by parts, and which of their parts are verified on
 * disk. The server serves those parts (and only those); the tracker is told about them in batches.
 */
import type {FileEntry, PartialEntry} from '../common/wire.js';

export type PartialFile = FileEntry & {
	partSize: number;
	/** The parts list the download checks against (the holders' majority). */
	md5s: readonly string[];
	/** Parts verified and written (datasync'd) to `dataPath`. */
	readonly have: ReadonlySet<number>;
	dataPath: string;
};

/** One download's entry: parts are added as they reach the disk; closed when the download ends. */
export type PartialHandle = {add: (part: number) => void; close: () => void};

/** Most requests waiting at once for a file's next part (a stranger cannot hold more). */
export const maxWaiters = 256;

export class PartialHoldings {
	readonly #listeners: Array<() => void> = [];
	readonly #waiters = new Set<() => void>();
	readonly #files = new Map<string, PartialFile & {have: Set<number>}>();

	/** A download by parts starts (or resumes with `have` already verified). */
	open(file: Omit<PartialFile, 'have'>, have: Iterable<number>): PartialHandle {
		const entry = {...file, have: new Set(have)};
		this.#files.set(file.name, entry);
		if (entry.have.size > 0) {
			this.#changed();
		}

		return {
			add: part => {
				if (this.#files.get(file.name) === entry && !entry.have.has(part)) {
					entry.have.add(part);
					this.#changed();
				}
			},
			close: () => {
				if (this.#files.get(file.name) === entry) {
					this.#files.delete(file.name);
					if (entry.have.size > 0) {
						this.#changed();
					}
				}
			},
		};
	}

	/** Called after each change (a part added, a download opened with parts or closed). */
	onChange(listener: () => void): void {
		this.#listeners.push(listener);
	}

	get(name: string): PartialFile | undefined {
		return this.#files.get(name);
	}

	/**
	 * Resolves once the file has more than `count` verified parts, is no longer downloading, or
	 * `timeoutMs` has passed (or `signal` aborts): a downloader learns of a new part as it lands.
	 * Beyond maxWaiters, resolves at once.
	 */
	async waitForMore(name: string, count: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
		if (this.#waiters.size >= maxWaiters || signal?.aborted) {
			return;
		}

		await new Promise<void>(resolve => {
			const check = () => {
				const file = this.#files.get(name);
				if (!file || file.have.size > count) {
					done();
				}
			};

			const done = () => {
				clearTimeout(timer);
				this.#waiters.delete(check);
				signal?.removeEventListener('abort', done);
				resolve();
			};

			const timer = setTimeout(done, timeoutMs);
			signal?.addEventListener('abort', done);
			this.#waiters.add(check);
			check();
		});
	}

	#changed(): void {
		for (const listener of this.#listeners) {
			listener();
		}

		for (const check of this.#waiters) {
			check();
		}
	}

	/** What the tracker lists: files with at least one verified part. */
	entries(): PartialEntry[] {
		return [...this.#files.values()]
			.filter(file => file.have.size > 0)
			.map(({name, md5, size, have, md5s}) => ({name, md5, size, have: have.size, of: md5s.length}));
	}
}
