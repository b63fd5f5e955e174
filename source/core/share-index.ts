/**
 * A peer's own list of shared files (pure): each entry with the stamp it was hashed at, a
 * version, and the changes not yet told to the tracker. Changes to one name coalesce (added
 * then removed is nothing to tell); they go out in batches no larger than one small request.
 */
import type {FileEntry} from '../common/wire.js';
import {sameStamp, type FileStamp} from './settle.js';

/** Changes since the version the tracker last took: entries added or changed, names removed. */
export type ListChanges = {add: FileEntry[]; remove: string[]};

/** What one batch of changes moved: added (new name), changed (new md5 or size), removed. */
export type ChangeCounts = {added: number; changed: number; removed: number};

type Held = {entry: FileEntry; stamp?: FileStamp};

export class ShareIndex {
	readonly #files = new Map<string, Held>();
	/** Names changed since the last batch taken, with what the tracker held for each before (undefined: nothing). */
	readonly #pending = new Map<string, FileEntry | undefined>();
	/** Names whose entry must be sent again although md5 and size are the same (what is published about it changed, e.g. a pin). */
	readonly #touched = new Set<string>();
	#version = 0;

	/**
	 * A list of entries (sorted or not) at `version`; their stamps, when known, let a later sight of
	 * an unchanged file be ignored.
	 */
	constructor(entries: Iterable<FileEntry> = [], stamps: ReadonlyMap<string, FileStamp> = new Map(), version = 0) {
		for (const entry of entries) {
			this.#files.set(entry.name, {entry, stamp: stamps.get(entry.name)});
		}

		this.#version = version;
	}

	stampOf(name: string): FileStamp | undefined {
		return this.#files.get(name)?.stamp;
	}

	get version(): number {
		return this.#version;
	}

	get size(): number {
		return this.#files.size;
	}

	/** Every entry, sorted by name (the order the tracker's UpdateList check expects). */
	entries(): FileEntry[] {
		return [...this.#files.values()].map(held => held.entry).sort((a, b) => (a.name < b.name ? -1 : (a.name > b.name ? 1 : 0)));
	}

	get(name: string): FileEntry | undefined {
		return this.#files.get(name)?.entry;
	}

	has(name: string): boolean {
		return this.#files.has(name);
	}

	/** True when `stamp` is the one this entry was hashed at: nothing to hash again. */
	isCurrent(name: string, stamp: FileStamp): boolean {
		return sameStamp(this.#files.get(name)?.stamp, stamp);
	}

	/** Sets an entry (a file added, changed, or placed by a download); returns whether the tracker must hear of it. */
	set(entry: FileEntry, stamp?: FileStamp): boolean {
		const held = this.#files.get(entry.name);
		this.#files.set(entry.name, {entry, stamp});
		if (held?.entry.md5 === entry.md5 && held.entry.size === entry.size) {
			return false;
		}

		this.#note(entry.name, held?.entry);
		return true;
	}

	/** Removes an entry; returns whether it was listed. */
	remove(name: string): boolean {
		const held = this.#files.get(name);
		if (!held) {
			return false;
		}

		this.#files.delete(name);
		this.#note(name, held.entry);
		return true;
	}

	/** Replaces the whole list (a rescan, updatelist); the differences become pending changes. */
	replaceAll(entries: Iterable<FileEntry>, stamps: ReadonlyMap<string, FileStamp> = new Map()): void {
		const next = new Map<string, Held>();
		for (const entry of entries) {
			next.set(entry.name, {entry, stamp: stamps.get(entry.name)});
		}

		for (const name of this.#files.keys()) {
			if (!next.has(name)) {
				this.remove(name);
			}
		}

		for (const {entry, stamp} of next.values()) {
			this.set(entry, stamp);
		}
	}

	/** The entry goes out again in the next batch, unchanged here (what is published with it changed); false when not listed. */
	touch(name: string): boolean {
		const held = this.#files.get(name);
		if (!held) {
			return false;
		}

		this.#touched.add(name);
		this.#note(name, held.entry);
		return true;
	}

	get hasPending(): boolean {
		return this.#pending.size > 0;
	}

	/** Names changed since the last batch (some may cancel out). */
	get pendingCount(): number {
		return this.#pending.size;
	}

	/**
	 * Takes up to `max` pending changes as one batch, moving the version on by one. Returns the
	 * versions it goes between (an incremental update from `from` to `to`), or undefined when
	 * nothing changed. Changes that cancel out (added then removed) are dropped.
	 */
	takeBatch(max: number): {from: number; to: number; changes: ListChanges; counts: ChangeCounts} | undefined {
		const add: FileEntry[] = [];
		const remove: string[] = [];
		const counts: ChangeCounts = {added: 0, changed: 0, removed: 0};
		for (const [name, before] of this.#pending) {
			if (add.length + remove.length >= max) {
				break;
			}

			this.#pending.delete(name);
			const touched = this.#touched.delete(name);
			const now = this.#files.get(name)?.entry;
			if (now && now.md5 === before?.md5 && now.size === before.size && !touched) {
				continue;
			}

			if (now) {
				add.push(now);
				counts[before ? 'changed' : 'added']++;
			} else if (before) {
				remove.push(name);
				counts.removed++;
			}
		}

		if (add.length === 0 && remove.length === 0) {
			return undefined;
		}

		const from = this.#version;
		this.#version++;
		return {from, to: this.#version, changes: {add, remove}, counts};
	}

	/**
	 * The whole list is about to go (a restart of the tracker, a lost update): pending changes are
	 * in it, and the version moves on so any update still in flight is refused. Returns that version.
	 */
	takeWhole(): number {
		this.#pending.clear();
		this.#touched.clear();
		this.#version++;
		return this.#version;
	}

	#note(name: string, before: FileEntry | undefined): void {
		if (!this.#pending.has(name)) {
			this.#pending.set(name, before);
		}
	}
}
