/**
 * What the mount lists: every file the network knows (the tracker's GET /files) and this peer's
 * own, as one snapshot by name. Attributes and the listing are served from the snapshot; one older
 * than the TTL is refreshed in the background while it serves, and a change this peer learns of
 * refreshes it at once. While the tracker is down the last snapshot serves.
 */
import type {FileEntry, FileSummary} from '../common/wire.js';
import {ListingFreshness} from '../core/listing-freshness.js';

export type ListedFile = {
	name: string;
	md5: string;
	size: number;
	/** Peers the tracker lists for it (this one included when it holds it). */
	holders: number;
	/** This peer has it in its share dir: reads go there. */
	local: boolean;
	/** When this version (md5) was first seen: its mtime, so it stays put while the content does. */
	seenAt: number;
};

export type NetworkListingOptions = {
	/** The tracker's file list (no waiting on a tracker that is down). */
	networkFiles: () => Promise<FileSummary[]>;
	/** This peer's own files. */
	localFiles: () => readonly FileEntry[];
	/** Snapshots younger than this are served without a refresh. */
	ttlMs?: number;
	/** A name not found in a snapshot older than this waits for a fresh one (it may have just been published). */
	missRefreshMs?: number;
	/** Told once when refreshes start failing (the last listing serves meanwhile), and once when they work again. */
	notice?: (message: string) => void;
	now?: () => number;
};

export const listingTtlMs = 1000;

export class NetworkListing {
	readonly #options: Required<NetworkListingOptions>;
	readonly #freshness: ListingFreshness;
	#network: FileSummary[] = [];
	/** This peer's own files as the snapshot was built from them. */
	#local: readonly FileEntry[] = [];
	#byName = new Map<string, ListedFile>();
	#sortedNames: string[] | undefined;
	/** First sight of each name's current version: name → [md5, time]. */
	readonly #seen = new Map<string, [string, number]>();
	#refresh: Promise<void> | undefined;
	#failing = false;
	#closed = false;

	constructor(options: NetworkListingOptions) {
		this.#options = {ttlMs: listingTtlMs, missRefreshMs: 250, now: Date.now, notice() {}, ...options};
		this.#freshness = new ListingFreshness({ttlMs: this.#options.ttlMs});
	}

	/**
	 * The file listed under `name`: at once from the snapshot (refreshed in the background when
	 * stale); a miss in a snapshot that is not brand new waits for a fresh one (the name may have
	 * just been published), and so does any lookup before the first snapshot.
	 */
	lookup(name: string): ListedFile | undefined | Promise<ListedFile | undefined> {
		if (this.#mustWait()) {
			return this.#refreshNow().then(() => this.#byName.get(name));
		}

		const found = this.#byName.get(name);
		if (found) {
			return found;
		}

		const age = this.#freshness.ageMs(this.#options.now());
		if (age === undefined || age >= this.#options.missRefreshMs) {
			return this.#refreshNow().then(() => this.#byName.get(name));
		}

		return undefined;
	}

	/** Every listed name, sorted. */
	names(): string[] | Promise<string[]> {
		return this.#mustWait() ? this.#refreshNow().then(() => this.#sorted()) : this.#sorted();
	}

	#sorted(): string[] {
		this.#sortedNames ??= [...this.#byName.keys()].sort();
		return this.#sortedNames;
	}

	/** The snapshot's entry, without waiting or refreshing (for files already open). */
	peek(name: string): ListedFile | undefined {
		return this.#byName.get(name);
	}

	/** This peer's own list changed (a file placed, added or removed): rebuilt now, and the network's asked for again. */
	changed(): void {
		this.#rebuild();
		if (this.#freshness.changed()) {
			void this.#refreshNow();
		}
	}

	/** Asks for the first snapshot now, in the background (the mount is starting): the first access then rarely waits. */
	prefetch(): void {
		void this.#refreshNow();
	}

	close(): void {
		this.#closed = true;
	}

	/** Whether there is no snapshot to serve yet; a stale one is served while a refresh starts in the background. */
	#mustWait(): boolean {
		const access = this.#freshness.access(this.#options.now());
		if (access === 'serve-and-refresh') {
			void this.#refreshNow();
		}

		return access === 'wait-for-refresh';
	}

	/** One refresh at a time; a caller that comes while one runs shares it. */
	async #refreshNow(): Promise<void> {
		if (this.#refresh) {
			return this.#refresh;
		}

		if (this.#closed) {
			return;
		}

		const freshness = this.#freshness;
		freshness.started(this.#options.now());
		const run = (async () => {
			try {
				const network = await this.#options.networkFiles();
				// Most refreshes find what the last one found: the snapshot (and its entries' cached attributes) then stays as it is.
				if (!sameSummaries(network, this.#network) || !sameEntries(this.#options.localFiles(), this.#local)) {
					this.#network = network;
					this.#rebuild();
				}

				freshness.succeeded(this.#options.now());
				if (this.#failing) {
					this.#failing = false;
					this.#options.notice('mount: the tracker answers again: the listing is fresh');
				}
			} catch (error) {
				// The last network listing stays; this peer's own files are listed whatever the tracker says.
				const age = freshness.ageMs(this.#options.now());
				this.#rebuild();
				freshness.failed(this.#options.now(), {fallback: true});
				if (!this.#failing) {
					this.#failing = true;
					this.#options.notice(`mount: no file list from the tracker (${(error as Error).message}): ${age === undefined ? 'only this peer\'s own files are listed' : `the listing of ${(age / 1000).toFixed(1)} s ago serves`} until it answers`);
				}
			}
		})();
		this.#refresh = run;
		try {
			await run;
		} finally {
			this.#refresh = undefined;
		}

		if (freshness.refreshDue(this.#options.now()) && !this.#closed) {
			// A change was learned while this refresh ran: what it fetched may predate it.
			void this.#refreshNow();
		}
	}

	#rebuild(): void {
		const now = this.#options.now();
		const byName = new Map<string, ListedFile>();
		this.#local = this.#options.localFiles();
		for (const file of this.#network) {
			byName.set(file.name, {...file, local: false, seenAt: this.#seenAt(file.name, file.md5, now)});
		}

		for (const file of this.#local) {
			const network = byName.get(file.name);
			const holders = network?.md5 === file.md5 ? network.holders : 1;
			byName.set(file.name, {...file, holders, local: true, seenAt: this.#seenAt(file.name, file.md5, now)});
		}

		for (const name of this.#seen.keys()) {
			if (!byName.has(name)) {
				this.#seen.delete(name);
			}
		}

		this.#byName = byName;
		this.#sortedNames = undefined;
	}

	#seenAt(name: string, md5: string, now: number): number {
		const seen = this.#seen.get(name);
		if (seen?.[0] === md5) {
			return seen[1];
		}

		this.#seen.set(name, [md5, now]);
		return now;
	}
}

function sameSummaries(a: readonly FileSummary[], b: readonly FileSummary[]): boolean {
	return a.length === b.length && a.every((file, index) => {
		const other = b[index]!;
		return file.name === other.name && file.md5 === other.md5 && file.size === other.size && file.holders === other.holders && file.pinned === other.pinned && file.copies === other.copies;
	});
}

function sameEntries(a: readonly FileEntry[], b: readonly FileEntry[]): boolean {
	return a === b || (a.length === b.length && a.every((file, index) => {
		const other = b[index]!;
		return file.name === other.name && file.md5 === other.md5 && file.size === other.size;
	}));
}
