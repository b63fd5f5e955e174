/** A temporary share dir, files dated well in the past, and a scan that reports its counts: for the scan's cache tests. */
import {createHash} from 'node:crypto';
import {mkdtemp, rm, utimes, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import type {ExecutionContext} from 'ava';
import {scanShareDir, type ScanStats} from '../../source/share/share-dir.js';
import type {FileEntry} from '../../source/common/wire.js';

export const md5 = (text: string) => createHash('md5').update(text).digest('hex');
/** An mtime well before any scan, so the caches may remember the file. */
export const past = new Date('2024-01-02T03:04:05Z');

export async function tempShareDir(t: ExecutionContext): Promise<string> {
	const dir = await mkdtemp(path.join(tmpdir(), 'xfs-scan-'));
	t.teardown(async () => rm(dir, {recursive: true, force: true}));
	return dir;
}

export async function writeOld(file: string, text: string, when = past): Promise<void> {
	await writeFile(file, text);
	await utimes(file, when, when);
}

export async function scan(dir: string): Promise<{files: FileEntry[]; stats: ScanStats}> {
	let stats: ScanStats | undefined;
	const files = await scanShareDir(dir, {onStats(value) {
		stats = value;
	}});
	return {files, stats: stats!};
}
