/**
 * Watching the share dir: one inotify watch on the directory itself (fs.watch), which names
 * each top-level entry that changes. chokidar, measured on a flat dir of 10 000 files, took
 * 1.6 s of CPU and 10 001 inotify watches to get ready (one per file); this takes 2 ms and one.
 * What a watch misses (an overflow, a network file system that sends nothing) the rescan finds.
 */
import {watch, type FSWatcher} from 'node:fs';
import fs from 'node:fs/promises';

export type DirWatch = {close: () => void};

/** Names of file systems that may send no change events to a watcher here (statfs f_type). */
const quietFileSystems = new Map<number, string>([
	[0x69_69, 'NFS'],
	[0xFF_53_4D_42, 'CIFS'],
	[0xFE_53_4D_42, 'SMB2'],
	[0x65_73_55_46, 'FUSE'],
	[0x73_75_6B_73, 'sshfs'],
	[0x01_02_19_97, '9p'],
]);

/** The kind of network file system `dir` is on when it is one that may send no events, else undefined. */
export async function quietFileSystem(dir: string): Promise<string | undefined> {
	try {
		return quietFileSystems.get(Number((await fs.statfs(dir)).type));
	} catch {
		return undefined;
	}
}

/** One line saying why a watch could not start or stopped, what happens instead, and how to fix it. */
export function watchFailure(dir: string, error: unknown, rescanMs: number): string {
	const {code} = (error as NodeJS.ErrnoException);
	const instead = rescanMs > 0 ? `changes are found by the rescan every ${rescanMs / 1000} s instead` : 'and --rescan-ms is 0: changes are published only by updatelist';
	if (code === 'ENOSPC') {
		return `cannot watch ${dir}: the system's inotify watches are used up (ENOSPC); ${instead}. Raise the limit: sysctl fs.inotify.max_user_watches=524288`;
	}

	if (code === 'EMFILE') {
		return `cannot watch ${dir}: the system's inotify instances are used up (EMFILE); ${instead}. Raise the limit: sysctl fs.inotify.max_user_instances=1024`;
	}

	return `cannot watch ${dir} (${code ?? (error as Error).message}); ${instead}`;
}

/**
 * Calls `onName` with the name of each top-level entry that is created, changed, renamed or
 * removed (duplicates and entries that are not files included: the caller stats them), and
 * `onError` once when the watch cannot start or stops. `failWith` makes it fail as that errno
 * would (a test aid, --fault watch-error=<code>).
 */
export function watchDir(dir: string, onName: (name: string) => void, onError: (error: Error) => void, {failWith}: {failWith?: string} = {}): DirWatch {
	let watcher: FSWatcher | undefined;
	let failed = false;
	const fail = (error: Error) => {
		if (!failed) {
			failed = true;
			watcher?.close();
			onError(error);
		}
	};

	try {
		if (failWith) {
			throw Object.assign(new Error(`${failWith}: watch ${dir} (a fault asked for with --fault watch-error)`), {code: failWith});
		}

		watcher = watch(dir, {persistent: false}, (_event, name) => {
			if (name) {
				onName(String(name));
			}
		});
		watcher.on('error', fail);
	} catch (error) {
		// Reported after the caller has its handle, as a failure later would be.
		queueMicrotask(() => {
			fail(error as Error);
		});
	}

	return {
		close() {
			failed = true;
			watcher?.close();
		},
	};
}
