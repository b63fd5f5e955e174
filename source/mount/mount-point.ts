/**
 * The mount point outside FUSE itself: checked and made ready before mounting (a stale mount that
 * a killed peer left is cleared, a live one refused), and unmounted at exit, lazily when a file
 * there is still open. fusermount runs as a child process, never in this process's event loop,
 * which is the one that answers the mount's requests.
 */
import {execFile, execFileSync} from 'node:child_process';
import {readFileSync} from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import {UsageError} from '../common/errors.js';

export type MountInfo = {mountPoint: string; fsType: string};

/** The mounts of this process's namespace (/proc/self/mountinfo), or undefined where there is none. */
export function readMounts(): MountInfo[] | undefined {
	let text: string;
	try {
		text = readFileSync('/proc/self/mountinfo', 'utf8');
	} catch {
		return undefined;
	}

	return parseMountInfo(text);
}

/** Mount points and types from mountinfo lines (field 5; the type follows the " - " separator; spaces are escaped as octal). */
export function parseMountInfo(text: string): MountInfo[] {
	const unescape = (field: string) => field.replaceAll(/\\(\d{3})/g, (_, octal: string) => String.fromCodePoint(Number.parseInt(octal, 8)));
	return text.split('\n').flatMap(line => {
		const [left, right] = line.split(' - ');
		const fields = left?.split(' ');
		const fsType = right?.split(' ')[0];
		return fields && fields.length >= 5 && fsType ? [{mountPoint: unescape(fields[4]!), fsType}] : [];
	});
}

export function isFuseMounted(dir: string, mounts = readMounts()): boolean | undefined {
	return mounts?.some(mount => mount.mountPoint === dir && mount.fsType.startsWith('fuse'));
}

/**
 * Whether `dir` answers: 'stale' is a FUSE mount whose server is gone (ENOTCONN). statfs, because
 * the kernel always asks the server for it, where a stat may be answered from its attribute cache.
 */
async function probe(dir: string, timeoutMs: number): Promise<'ok' | 'stale' | 'missing' | 'silent' | NodeJS.ErrnoException> {
	let timer: NodeJS.Timeout | undefined;
	const silent = new Promise<'silent'>(resolve => {
		timer = setTimeout(resolve, timeoutMs, 'silent');
	});
	try {
		return await Promise.race([fs.statfs(dir).then(() => 'ok' as const, (error: unknown) => {
			const {code} = error as NodeJS.ErrnoException;
			if (code === 'ENOTCONN' || code === 'ECONNABORTED') {
				return 'stale' as const;
			}

			return code === 'ENOENT' ? 'missing' as const : error as NodeJS.ErrnoException;
		}), silent]);
	} finally {
		clearTimeout(timer);
	}
}

export type FusermountResult = {ok: boolean; message: string};

export async function fusermount(program: string, args: string[]): Promise<FusermountResult> {
	return new Promise(resolve => {
		execFile(program, args, {timeout: 10_000}, (error, _stdout, stderr) => {
			resolve({ok: !error, message: (stderr || (error?.message ?? '')).trim()});
		});
	});
}

/**
 * Readies `dir` for mounting: a stale mount there (its peer killed) is unmounted, lazily if it
 * must be; a missing dir is made. Returns how a stale mount was cleared, if there was one. Throws
 * UsageError for a dir that cannot be mounted on: a live mount, a file, a dir with files in it.
 */
export async function prepareMountPoint(dir: string, {fusermountPath, shareDir}: {fusermountPath: string; shareDir: string}): Promise<'cleared' | 'cleared-lazily' | undefined> {
	const where = `xfs-peer: --mount ${dir}`;
	if (dir === shareDir || shareDir.startsWith(`${dir}${path.sep}`)) {
		throw new UsageError(`${where}: the mount would hide the share dir ${shareDir}; mount somewhere else`);
	}

	let cleared: 'cleared' | 'cleared-lazily' | undefined;
	const mounted = isFuseMounted(dir);
	const state = await probe(dir, 2000);
	if (state === 'stale' || (mounted && state === 'silent')) {
		const plain = await fusermount(fusermountPath, ['-u', dir]);
		if (plain.ok) {
			cleared = 'cleared';
		} else {
			const lazy = await fusermount(fusermountPath, ['-uz', dir]);
			if (!lazy.ok) {
				throw new UsageError(`${where}: a stale mount is there and fusermount cannot remove it (${lazy.message || plain.message}); try fusermount -uz ${dir}`);
			}

			cleared = 'cleared-lazily';
		}
	} else if (mounted) {
		throw new UsageError(`${where}: already mounted (by another running xfs-peer?); unmount it first (fusermount -u ${dir})`);
	} else if (state !== 'ok' && state !== 'missing') {
		throw new UsageError(`${where}: ${state === 'silent' ? 'does not answer' : (state.code ?? state.message)}`);
	}

	const stats = await fs.stat(dir).catch(() => undefined);
	if (!stats) {
		await fs.mkdir(dir, {recursive: true}).catch((error: unknown) => {
			throw new UsageError(`${where}: cannot make the directory: ${(error as Error).message}`, {cause: error});
		});
		return cleared;
	}

	if (!stats.isDirectory()) {
		throw new UsageError(`${where}: not a directory`);
	}

	if ((await fs.readdir(dir)).length > 0) {
		throw new UsageError(`${where}: not empty (the mount would hide its files); use an empty directory`);
	}

	return cleared;
}

/** Unmounts `dir`; when something there is still open, lazily (it goes once nothing uses it). */
export async function unmountDir(dir: string, fusermountPath: string): Promise<{outcome: 'unmounted' | 'lazily' | 'gone' | 'failed'; message: string}> {
	const plain = await fusermount(fusermountPath, ['-u', dir]);
	if (plain.ok) {
		return {outcome: 'unmounted', message: ''};
	}

	if (isFuseMounted(dir) === false) {
		return {outcome: 'gone', message: plain.message};
	}

	const lazy = await fusermount(fusermountPath, ['-uz', dir]);
	return lazy.ok ? {outcome: 'lazily', message: plain.message} : {outcome: 'failed', message: lazy.message || plain.message};
}

/** The last resort on process exit, when nothing can be awaited: a lazy unmount, which needs no answer from this process. */
export function unmountLazilyNow(dir: string, fusermountPath: string): void {
	try {
		execFileSync(fusermountPath, ['-uz', dir], {stdio: 'ignore', timeout: 5000});
	} catch {}
}
