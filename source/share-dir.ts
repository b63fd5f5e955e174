/** The share directory on disk: scanning and hashing, safe opening of shared files, the hidden partial folder. */
import {constants, type Stats} from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import md5File from 'md5-file';
import {UsageError} from './errors.js';
import {isValidFileName, type FileEntry} from './wire.js';

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

/** Lists and hashes every shared file, at most `concurrency` at a time, sorted by name. */
export async function scanShareDir(shareDir: string, {concurrency = 8} = {}): Promise<FileEntry[]> {
	const entries = await fs.readdir(shareDir, {withFileTypes: true});
	const names = entries.filter(entry => entry.isFile() && isSharedName(entry.name)).map(entry => entry.name);
	const files: FileEntry[] = [];
	let next = 0;
	const worker = async () => {
		while (next < names.length) {
			const name = names[next++]!;
			const file = path.join(shareDir, name);
			try {
				// Stat before and after hashing: a file that changed meanwhile is skipped until the next scan.
				const before = await fs.lstat(file);
				const md5 = await md5File(file);
				const after = await fs.lstat(file);
				if (after.isFile() && before.size === after.size && before.mtimeMs === after.mtimeMs) {
					files.push({name, md5, size: after.size});
				}
			} catch {
				// Vanished or unreadable between listing and hashing: not shared this time.
			}
		}
	};

	await Promise.all(Array.from({length: Math.min(concurrency, names.length)}, worker));
	return files.sort((a, b) => (a.name < b.name ? -1 : (a.name > b.name ? 1 : 0)));
}

export type OpenShared = {handle: fs.FileHandle; size: number};

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

	return {handle, size: stats.size};
}

export async function exists(file: string): Promise<boolean> {
	try {
		await fs.lstat(file);
		return true;
	} catch {
		return false;
	}
}
