/** Room on the share dir's file system, asked before a download starts (statfs), so a file that cannot fit fails at once. */
import fs from 'node:fs/promises';
import {LocalFaultError} from '../common/errors.js';

/** Bytes an unprivileged writer may still use on the file system of `dir`, or undefined when it cannot be told. */
export async function freeBytes(dir: string): Promise<number | undefined> {
	try {
		const stats = await fs.statfs(dir);
		return stats.bavail * stats.bsize;
	} catch {
		return undefined;
	}
}

/** Throws NO_SPACE, naming `shownDir` and both figures, when fewer than `needed` bytes are free. */
export async function ensureRoom(dir: string, needed: number, what: string, shownDir = dir): Promise<void> {
	const free = await freeBytes(dir);
	if (free !== undefined && free < needed) {
		throw new LocalFaultError('NO_SPACE', shownDir, `no room for ${what} on ${shownDir}: it needs ${mib(needed)} more, ${mib(free)} is free`);
	}
}

function mib(bytes: number): string {
	return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
