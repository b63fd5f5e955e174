/**
 * The md5 of each shared file, remembered across restarts so an unchanged share dir is
 * not re-hashed. Kept in the hidden state folder (`.xfs/hashes.json`): never listed,
 * never served. The cache itself is pure; loading and saving are the two functions below it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {writeFileAtomically} from './atomic-write.js';

/** What identifies one version of a file on disk without reading it. */
export type FileStamp = {size: number; mtimeMs: number; ino: number};

/** `[size, mtimeMs, ino, md5]`, as saved; a saved entry is checked when it is looked up. */
type Entry = readonly unknown[];

export const hashCacheFileName = 'hashes.json';
const formatVersion = 1;
const md5Pattern = /^[\da-f]{32}$/;

/**
 * A file written within this long of the scan may still change without moving its mtime
 * (coarse timestamps), so its hash is used for this scan but not remembered.
 */
export const racyWindowMs = 2000;

/** The md5 of an entry that matches the stamp; undefined when it does not match or is malformed. */
function md5If(entry: Entry | undefined, {size, mtimeMs, ino}: FileStamp): string | undefined {
	if (entry?.length !== 4 || entry[0] !== size || entry[1] !== mtimeMs || entry[2] !== ino) {
		return undefined;
	}

	const md5 = entry[3];
	return typeof md5 === 'string' && md5Pattern.test(md5) ? md5 : undefined;
}

function isWellFormed(entry: Entry): boolean {
	const [size, mtimeMs, ino] = entry;
	return isWhole(size) && typeof mtimeMs === 'number' && Number.isFinite(mtimeMs) && isWhole(ino) && md5If(entry, {size, mtimeMs, ino}) !== undefined;
}

export class HashCache {
	/** name → entry. Entries are taken as parsed (a restart copies nothing) and checked on lookup. */
	readonly #entries = new Map<string, Entry>();
	#changed = false;

	/** Parses a saved cache; anything malformed gives an empty cache (every file is hashed again). */
	static parse(text: string): HashCache {
		const cache = new HashCache();
		let saved: unknown;
		try {
			saved = JSON.parse(text);
		} catch {
			return cache;
		}

		if (!isRecord(saved) || saved.version !== formatVersion || !isRecord(saved.files)) {
			return cache;
		}

		const {files} = saved;
		for (const name in files) {
			if (Object.hasOwn(files, name) && Array.isArray(files[name])) {
				cache.#entries.set(name, files[name] as Entry);
			}
		}

		return cache;
	}

	/** How many well-formed entries it holds. */
	get size(): number {
		let count = 0;
		for (const entry of this.#entries.values()) {
			count += isWellFormed(entry) ? 1 : 0;
		}

		return count;
	}

	/** True when a remembered entry was added, changed or dropped since parsing. */
	get changed(): boolean {
		return this.#changed;
	}

	/** The remembered md5 when name, size, mtime and inode all still match. */
	lookup(name: string, stamp: FileStamp): string | undefined {
		return md5If(this.#entries.get(name), stamp);
	}

	/** Remembers a fresh hash, unless the file was modified too recently for its mtime to be trusted. */
	record(name: string, stamp: FileStamp, md5: string, scanStartedMs: number): void {
		if (stamp.mtimeMs > scanStartedMs - racyWindowMs) {
			this.forget(name);
			return;
		}

		if (md5If(this.#entries.get(name), stamp) === md5) {
			return;
		}

		this.#entries.set(name, [stamp.size, stamp.mtimeMs, stamp.ino, md5]);
		this.#changed = true;
	}

	forget(name: string): void {
		if (this.#entries.delete(name)) {
			this.#changed = true;
		}
	}

	/** Drops every entry whose name is not in `present` (deleted or no longer shared files). */
	keepOnly(present: ReadonlySet<string>): void {
		for (const name of this.#entries.keys()) {
			if (!present.has(name)) {
				this.forget(name);
			}
		}
	}

	/** The cache as saved: well-formed entries only. */
	serialize(): string {
		// No prototype: a file may be called "__proto__".
		const files = Object.create(null) as Record<string, Entry>;
		for (const [name, entry] of this.#entries) {
			if (isWellFormed(entry)) {
				files[name] = entry;
			}
		}

		return JSON.stringify({version: formatVersion, files});
	}
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isWhole(value: unknown): value is number {
	return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Reads the cache from `stateDir`; a missing or unreadable file gives an empty cache. */
export async function loadHashCache(stateDir: string): Promise<HashCache> {
	try {
		return HashCache.parse(await fs.readFile(path.join(stateDir, hashCacheFileName), 'utf8'));
	} catch {
		return new HashCache();
	}
}

/** Writes the cache atomically: a reader or a crash never sees half of it. */
export async function saveHashCache(stateDir: string, cache: HashCache): Promise<void> {
	await writeFileAtomically(stateDir, hashCacheFileName, cache.serialize());
}
