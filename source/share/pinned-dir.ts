/**
 * The share dir pinned at start: opened once, and every file inside it reached through that
 * handle (on Linux `/proc/self/fd/<fd>/<name>`), so renaming the path or putting a symlink in
 * its place (`mv share share.real; ln -s /etc share`) cannot redirect a single read or write.
 * check() tells whether the path still names the pinned directory.
 */
import {constants, type Stats} from 'node:fs';
import fs from 'node:fs/promises';

export type PinState = 'same' | 'moved' | 'gone';

export class PinnedDir {
	/**
	 * Opens `dir` (a real path, as checkShareDir returns it). Where /proc/self/fd does not reach
	 * the handle (not Linux), files are reached by the path, and check() still tells a swap.
	 */
	static async open(dir: string): Promise<PinnedDir> {
		const handle = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
		try {
			const stats = await handle.stat();
			const viaFd = `/proc/self/fd/${handle.fd}`;
			const reachable = await fs.stat(viaFd).then(seen => seen.ino === stats.ino && seen.dev === stats.dev, () => false);
			return new PinnedDir(dir, handle, stats, reachable ? viaFd : dir);
		} catch (error) {
			await handle.close();
			throw error;
		}
	}

	/** The path the user gave (resolved): for messages only. */
	readonly path: string;
	/** The path every file operation goes through: the pinned directory itself, whatever the path now names. */
	readonly ioPath: string;
	readonly #handle: fs.FileHandle;
	readonly #stats: Stats;

	private constructor(dir: string, handle: fs.FileHandle, stats: Stats, ioPath: string) {
		this.path = dir;
		this.#handle = handle;
		this.#stats = stats;
		this.ioPath = ioPath;
	}

	/** True when files are reached through the handle, not the path. */
	get pinned(): boolean {
		return this.ioPath !== this.path;
	}

	/** Whether the path still names the pinned directory ('same'), names something else ('moved'), or nothing ('gone'). */
	async check(): Promise<PinState> {
		let now: Stats;
		try {
			now = await fs.stat(this.path);
		} catch {
			return 'gone';
		}

		const pinnedNow = await this.#handle.stat().catch(() => undefined);
		// A directory deleted while open keeps its inode but has no links left.
		if (pinnedNow?.nlink === 0) {
			return now.isDirectory() ? 'moved' : 'gone';
		}

		return now.dev === this.#stats.dev && now.ino === this.#stats.ino ? 'same' : 'moved';
	}

	async close(): Promise<void> {
		await this.#handle.close().catch(() => {});
	}
}
