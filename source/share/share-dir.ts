/** The share directory on disk: scanning and hashing (with the hash cache), safe opening of shared files, the hidden partial folder. */
import {closeSync, constants, existsSync, fstatSync, lstatSync, openSync, type Stats} from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import {setImmediate} from 'node:timers/promises';
import md5File from 'md5-file';
import {UsageError} from '../common/errors.js';
import {isValidFileName, type FileEntry} from '../common/wire.js';
import {type FileStamp, HashCache, loadHashCache, racyWindowMs, saveHashCache} from './hash-cache.js';
import {DirStamps, loadListing, matchListing, saveListing} from './listing-cache.js';
import {SharedList} from './shared-list.js';

/** Hidden state folder inside the share dir: never listed, never served. */
export const stateDirName = '.xfs';
export const partialDirName = 'partial';

export function partialDir(shareDir: string): string {
	return path.join(shareDir, stateDirName, partialDirName);
}

/** A file is shared when its name is valid, it is not hidden, and it is a regular file (not a symlink). */
export function isSharedName(name: string): boolean {
	return isValidFileName(name) && !name.startsWith('.');
}

/** Checks the share dir is a readable, writable directory; throws UsageError naming it. */
export async function checkShareDir(shareDir: string): Promise<string> {
	let stats: Stats;
	try {
		stats = await fs.stat(shareDir);
	} catch (error) {
		throw new UsageError(`xfs-peer: --dir ${shareDir}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (error as Error).message}`, {cause: error});
	}

	if (!stats.isDirectory()) {
		throw new UsageError(`xfs-peer: --dir ${shareDir}: not a directory`);
	}

	try {
		await fs.access(shareDir, constants.R_OK | constants.W_OK | constants.X_OK);
	} catch (error) {
		throw new UsageError(`xfs-peer: --dir ${shareDir}: not readable and writable`, {cause: error});
	}

	return fs.realpath(shareDir);
}

/** Verified parts of an unfinished multi-source download of one version (md5) of a file: kept across restarts. */
export function resumableDir(shareDir: string, name: string, md5: string): string {
	return path.join(partialDir(shareDir), `${name}.${md5}.parts`);
}

export const resumableDirPattern = /^([A-Za-z\d._-]+)\.([\da-f]{32})\.parts$/;
/** In a resumable dir: the file being filled in place, and the record of its verified byte spans. */
export const resumableDataName = 'data';
export const resumableStateName = 'state.json';

/**
 * Creates the partial folder and removes what an interrupted download left in it, except the
 * verified parts of multi-source downloads (a dir with its data and state), which a later
 * download of the same file resumes from. Returns how many leftovers were removed.
 */
export async function preparePartialDir(shareDir: string): Promise<number> {
	const dir = partialDir(shareDir);
	await fs.mkdir(dir, {recursive: true});
	const leftovers = await fs.readdir(dir);
	let removed = 0;
	await Promise.all(leftovers.map(async name => {
		const leftover = path.join(dir, name);
		if (resumableDirPattern.test(name) && await isResumable(leftover)) {
			return;
		}

		await fs.rm(leftover, {force: true, recursive: true});
		removed++;
	}));
	return removed;
}

async function isResumable(dir: string): Promise<boolean> {
	try {
		const [data, state] = await Promise.all([fs.lstat(path.join(dir, resumableDataName)), fs.lstat(path.join(dir, resumableStateName))]);
		return data.isFile() && state.isFile();
	} catch {
		return false;
	}
}

export type ScanOptions = {
	/** Files hashed at once: enough to overlap disk waits with hashing, few enough to bound memory. */
	concurrency?: number;
	/** Reuse and update the listing and md5s remembered in the state folder (off: hash everything, remember nothing). */
	useHashCache?: boolean;
	/** Told how many files were hashed and how many came from the caches. */
	onStats?: (stats: ScanStats) => void;
	/** md5s the caller already knows (a file hashed since the last scan), by name and stamp: consulted before the hash cache. */
	known?: (name: string, stamp: FileStamp) => string | undefined;
};

export type ScanStats = {files: number; hashed: number; cached: number};

/** Files up to this size are hashed with md5-file's synchronous call: a thread-pool round trip per read costs more than hashing them. */
export const syncHashMaxBytes = 256 * 1024;
/** Longest run of synchronous hashing before the event loop gets a turn (rescans run on the peer's main thread). */
const syncSliceMs = 4;

/** Files stat'ed per synchronous batch before the event loop gets a turn: a batch takes a few ms, and fewer turns cost less. */
const statBatchSize = 1024;

/** The files found, each file's stamp as the scan saw it (in directory order), and the figures. */
export type ScanResult = {files: SharedList; stamps: DirStamps; stats: ScanStats};

/**
 * Lists and hashes every shared file, at most `concurrency` at a time; the list is sorted by name.
 * With the hash cache on, a dir whose files all have the stamps of the last saved listing gets
 * that listing back as it was, and any other file's md5 is looked up in the hash cache first.
 */
export async function scanShare(shareDir: string, {concurrency = 8, useHashCache = true, known}: Omit<ScanOptions, 'onStats'> = {}): Promise<ScanResult> {
	const scanStartedMs = Date.now();
	const stateDir = path.join(shareDir, stateDirName);
	// Names only: the lstat below tells files from the rest, so no Dirent objects are made for 10 000 entries.
	const [entries, savedListing] = await Promise.all([
		fs.readdir(shareDir),
		useHashCache ? loadListing(stateDir) : undefined,
	]);
	const found = new DirStamps();
	// Names are single path segments; a plain concatenation spares path.join's normalizing of 10 000 paths.
	const prefix = shareDir.endsWith(path.sep) ? shareDir : shareDir + path.sep;
	// Synchronous lstat in small batches: an async stat per file costs a thread-pool round trip, several times the syscall.
	for (const [index, name] of entries.entries()) {
		if (isSharedName(name)) {
			try {
				const listed = lstatSync(prefix + name);
				if (listed.isFile()) {
					found.add(name, {size: listed.size, mtimeMs: listed.mtimeMs, ino: listed.ino});
				}
			} catch {
				// Vanished since the listing: not shared this time.
			}
		}

		if (index % statBatchSize === statBatchSize - 1) {
			await setImmediate();
		}
	}

	const savedJson = savedListing === undefined ? undefined : matchListing(savedListing, found);
	if (savedJson !== undefined) {
		return {files: SharedList.fromJson(savedJson), stamps: found, stats: {files: found.count, hashed: 0, cached: found.count}};
	}

	const cache = useHashCache ? await loadHashCache(stateDir) : new HashCache();
	const files: FileEntry[] = [];
	const toHash: Array<{name: string; stamp: FileStamp}> = [];
	for (const [name, stamp] of found.entries()) {
		const fromCache = cache.lookup(name, stamp);
		const md5 = fromCache ?? known?.(name, stamp);
		if (md5 === undefined) {
			toHash.push({name, stamp});
		} else {
			files.push({name, md5, size: stamp.size});
			if (fromCache === undefined) {
				// A file hashed since the last scan (by the watcher) goes into the cache too.
				cache.record(name, stamp, md5, scanStartedMs);
			}
		}
	}

	const cached = files.length;
	let next = 0;
	let sliceStartedMs = performance.now();
	const worker = async () => {
		while (next < toHash.length) {
			const {name, stamp} = toHash[next++]!;
			let md5: string | undefined;
			if (stamp.size <= syncHashMaxBytes) {
				md5 = md5OfSharedSync(prefix + name, stamp);
				if (performance.now() - sliceStartedMs >= syncSliceMs) {
					await setImmediate();
					sliceStartedMs = performance.now();
				}
			} else {
				md5 = await md5OfShared(prefix + name, stamp);
				sliceStartedMs = performance.now();
			}

			// Gone, not a regular file, or replaced or changed since its lstat: skipped until the next scan.
			if (md5 === undefined) {
				cache.forget(name);
				continue;
			}

			cache.record(name, stamp, md5, scanStartedMs);
			files.push({name, md5, size: stamp.size});
		}
	};

	await Promise.all(Array.from({length: Math.min(concurrency, toHash.length)}, worker));
	const list = SharedList.of(files.sort((a, b) => (a.name < b.name ? -1 : (a.name > b.name ? 1 : 0))));
	if (useHashCache) {
		// Both only save time: a share dir where they cannot be written still works.
		cache.keepOnly(new Set(files.map(file => file.name)));
		if (cache.changed) {
			await saveHashCache(stateDir, cache).catch(() => {});
		}

		// Only a list of every file found, none modified too recently for its mtime to be trusted, is kept for the next scan.
		if (files.length === found.count && found.newestMtimeMs <= scanStartedMs - racyWindowMs) {
			await saveListing(stateDir, found, list.json).catch(() => {});
		}
	}

	return {files: list, stamps: found, stats: {files: files.length, hashed: files.length - cached, cached}};
}

/** scanShare's list as entries; `onStats` is told how many files were hashed and how many came from the caches. */
export async function scanShareDir(shareDir: string, {onStats, ...options}: ScanOptions = {}): Promise<FileEntry[]> {
	const {files, stats} = await scanShare(shareDir, options);
	onStats?.(stats);
	return [...files.entries];
}

/** A share dir ready to serve: its real path, the leftovers cleared from it, its files. */
export type PreparedShare = {shareDir: string; cleaned: number; files: SharedList; stats: ScanStats; scanMs: number};

/** Everything a peer does to its share dir before serving: check it, clear leftovers, scan and hash. */
export async function prepareShare(dir: string, options: Omit<ScanOptions, 'onStats'> = {}): Promise<PreparedShare> {
	const shareDir = await checkShareDir(dir);
	const cleaned = await preparePartialDir(shareDir);
	const started = Date.now();
	const {files, stats} = await scanShare(shareDir, options);
	return {shareDir, cleaned, files, stats, scanMs: Date.now() - started};
}

/** On Linux, the path that reopens an open file by its descriptor: the very inode the descriptor holds, whatever its name now is. */
const openFdDir = process.platform === 'linux' && existsSync('/proc/self/fd') ? '/proc/self/fd/' : undefined;
const sharedOpenFlags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

const sameStamp = (stats: Stats, stamp: FileStamp) => stats.isFile() && stats.ino === stamp.ino && stats.size === stamp.size && stats.mtimeMs === stamp.mtimeMs;

/** What md5-file is given to read: the open descriptor's inode on Linux, the name elsewhere (checked again after). */
const pathToHash = (file: string, fd: number) => (openFdDir === undefined ? file : openFdDir + String(fd));

/** After hashing: the open file still has its stamp, and where md5-file read the name, the name still leads to it. */
const unchangedSince = (stats: Stats, file: string, stamp: FileStamp) => sameStamp(stats, stamp) && (openFdDir !== undefined || sameStamp(lstatSync(file), stamp));

/**
 * md5 (md5-file) of the regular file at `file` if it has `stamp` before and after hashing;
 * undefined when it is gone, unreadable, not a regular file, replaced or changed meanwhile.
 * It is opened with O_NOFOLLOW|O_NONBLOCK (no symlink, no wait on a FIFO) and checked with fstat
 * before md5-file reads it, so md5-file never opens a symlink or a FIFO by a name swapped meanwhile.
 */
export async function md5OfShared(file: string, stamp: FileStamp): Promise<string | undefined> {
	let handle: fs.FileHandle | undefined;
	try {
		handle = await fs.open(file, sharedOpenFlags);
		if (!sameStamp(fstatSync(handle.fd), stamp)) {
			return undefined;
		}

		const md5 = await md5File(pathToHash(file, handle.fd));
		return unchangedSince(await handle.stat(), file, stamp) ? md5 : undefined;
	} catch {
		return undefined;
	} finally {
		await handle?.close().catch(() => {});
	}
}

/** md5OfShared without a thread-pool round trip, for small files (it blocks while it reads). */
export function md5OfSharedSync(file: string, stamp: FileStamp): string | undefined {
	let fd: number | undefined;
	try {
		fd = openSync(file, sharedOpenFlags);
		if (!sameStamp(fstatSync(fd), stamp)) {
			return undefined;
		}

		const md5 = md5File.sync(pathToHash(file, fd));
		return unchangedSince(fstatSync(fd), file, stamp) ? md5 : undefined;
	} catch {
		return undefined;
	} finally {
		if (fd !== undefined) {
			closeSync(fd);
		}
	}
}

export type OpenShared = {handle: fs.FileHandle; size: number; mtimeMs: number; ino: number};

/**
 * Opens a shared file for reading, or returns undefined: only a valid, non-hidden name
 * of a regular file directly in the share dir. O_NOFOLLOW refuses a symlink and
 * O_NONBLOCK keeps a FIFO from blocking the open; fstat then rejects anything not regular.
 */
export async function openShared(shareDir: string, name: string): Promise<OpenShared | undefined> {
	if (!isSharedName(name)) {
		return undefined;
	}

	let handle: fs.FileHandle;
	try {
		handle = await fs.open(path.join(shareDir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
	} catch {
		return undefined;
	}

	const stats = await handle.stat();
	if (!stats.isFile()) {
		await handle.close();
		return undefined;
	}

	return {handle, size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino};
}

export async function exists(file: string): Promise<boolean> {
	try {
		await fs.lstat(file);
		return true;
	} catch {
		return false;
	}
}
