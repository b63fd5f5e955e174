/**
 * This peer's share dir while it runs: pinned (a swapped path cannot redirect a read), watched
 * (a change is hashed once the file has settled, and published), rescanned on a schedule (what
 * a watch missed), and withdrawn while the path no longer names it. It keeps the peer's own
 * list (ShareIndex) and says when there are changes to publish; the membership publishes them.
 */
import {EventEmitter} from 'node:events';
import {lstatSync, type Stats} from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type {FileEntry} from '../common/wire.js';
import {SettleTracker, type FileStamp, type WatchState} from '../core/settle.js';
import {ShareIndex, type ChangeCounts, type ListChanges} from '../core/share-index.js';
import {quietFileSystem, watchDir, watchFailure, type DirWatch} from './dir-watch.js';
import {PinnedDir} from './pinned-dir.js';
import {isSharedName, md5OfShared, scanShare, type PreparedShare} from './share-dir.js';
import type {SharedList} from './shared-list.js';

export type {WatchState} from '../core/settle.js';

/** What found a change: the watch (after settling), a rescan, a download placing a file, a verification, the dir withdrawn. */
export type ChangeSource = 'watch' | 'rescan' | 'placed' | 'verify' | 'withdrawn';

export type LocalShareEvents = {
	/** There are changes to publish (a batch is full, or nothing else is being hashed). */
	changed: [from: ChangeSource];
	notice: [string];
	watch: [WatchState];
};

export type LocalShareOptions = {
	/** A changed file is published once its size and mtime have been still this long (--settle-ms). */
	settleMs: number;
	/** A full rescan this often (--rescan-ms); 0: none. */
	rescanMs: number;
	/** Watch the dir for changes (off: --no-watch). */
	watch: boolean;
	/** Test aid: the watch fails as this errno would (--fault watch-error=<code>). */
	watchFault?: string;
	/** How often the path is checked against the pinned dir. */
	guardMs?: number;
};

/** A batch of changes is sent once this many are waiting, even while more are being hashed. */
export const maxChangesPerBatch = 1000;
/** Changes wait for more that would settle within this long, so a burst is published in a few updates. */
const coalesceMs = 250;
/** No change waits longer than this to be published, however busy the dir is. */
const maxWaitMs = 2000;
/** A report of bad bytes hashes a name again at most this often. */
const reverifyMs = 10_000;
/** Files hashed at once after they settle. */
const hashConcurrency = 4;

const stampOf = (stats: Stats): FileStamp => ({size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino});

export class LocalShare extends EventEmitter<LocalShareEvents> {
	/** The share dir as the user named it (resolved): for messages and results. */
	readonly shownDir: string;
	readonly #options: Required<Omit<LocalShareOptions, 'watchFault'>> & {watchFault?: string};
	#pin: PinnedDir | undefined;
	#withdrawn: 'moved' | 'gone' | undefined;
	/** The scan's list until the first change: its JSON text goes to the tracker as it is. */
	#initial: SharedList | undefined;
	#index: ShareIndex | undefined;
	/** Versions of the whole list sent before the index was built. */
	#wholeVersions = 0;
	readonly #settle: SettleTracker;
	#watch: DirWatch | undefined;
	#watchState: WatchState = {state: 'off'};
	#settleTimer: NodeJS.Timeout | undefined;
	readonly #timers: NodeJS.Timeout[] = [];
	readonly #hashing = new Set<string>();
	#hashQueue: Array<{name: string; stamp: FileStamp}> = [];
	#scanning: Promise<ChangeCounts> | undefined;
	readonly #idleWaiters: Array<() => void> = [];
	#pendingSince: number | undefined;
	/** When each name was last hashed again on a report. */
	readonly #verifiedAt = new Map<string, number>();
	#publishTimer: NodeJS.Timeout | undefined;
	#closed = false;

	private constructor(shownDir: string, pin: PinnedDir, files: SharedList, options: LocalShareOptions) {
		super();
		this.shownDir = shownDir;
		this.#pin = pin;
		this.#initial = files;
		this.#options = {guardMs: 1000, ...options};
		this.#settle = new SettleTracker({settleMs: options.settleMs});
	}

	/** Pins the prepared share dir; start() then watches it, rescans it and checks its path. */
	static async open(prepared: PreparedShare, options: LocalShareOptions): Promise<LocalShare> {
		const pin = await PinnedDir.open(prepared.shareDir);
		return new LocalShare(prepared.shareDir, pin, prepared.files, options);
	}

	/** Where the share dir's files are reached: its pinned handle; undefined while it is withdrawn. */
	get ioDir(): string | undefined {
		return this.#withdrawn ? undefined : this.#pin?.ioPath;
	}

	get withdrawn(): boolean {
		return this.#withdrawn !== undefined;
	}

	get watchState(): WatchState {
		return this.#watchState;
	}

	get entries(): readonly FileEntry[] {
		return this.#index ? this.#index.entries() : this.#initial!.entries;
	}

	/** The entry this peer lists for a name, if any. */
	listed(name: string): FileEntry | undefined {
		return this.#ensureIndex().get(name);
	}

	/** The whole list to send (an UpdateList): pending changes go with it, and its version moves on. */
	wholeList(): {json: string; version: number; count: number} {
		if (!this.#index) {
			this.#wholeVersions++;
			return {json: this.#initial!.json, version: this.#wholeVersions, count: this.#initial!.entries.length};
		}

		const entries = this.#index.entries();
		return {json: JSON.stringify(entries), version: this.#index.takeWhole(), count: entries.length};
	}

	get hasPending(): boolean {
		return this.#index?.hasPending ?? false;
	}

	get pendingCount(): number {
		return this.#index?.pendingCount ?? 0;
	}

	/** The next batch of changes for an incremental update (at most maxChangesPerBatch), or undefined. */
	takeBatch(): {from: number; to: number; changes: ListChanges; counts: ChangeCounts} | undefined {
		return this.#index?.takeBatch(maxChangesPerBatch);
	}

	/** A download placed this file: listed at once, and the watch's sight of it is not a change. */
	async placed(entry: FileEntry): Promise<void> {
		const stats = await fs.lstat(this.#pathOf(entry.name)).catch(() => undefined);
		this.#settle.forget(entry.name);
		if (this.#ensureIndex().set(entry, stats?.isFile() ? stampOf(stats) : undefined)) {
			this.emit('changed', 'placed');
		}
	}

	/** What is published with this entry changed (a pin): it goes out again. */
	touch(name: string): void {
		if (this.#ensureIndex().touch(name)) {
			this.emit('changed', 'placed');
		}
	}

	/**
	 * A full scan now (updatelist, the schedule): the list follows the dir; files still being
	 * written wait to settle. With `settled`, it returns once they have (updatelist answers with them).
	 */
	async rescan({settled = false}: {settled?: boolean} = {}): Promise<ChangeCounts> {
		const running = this.#scanning ?? this.#scanNow();
		this.#scanning = running;
		let counts: ChangeCounts;
		try {
			counts = await running;
		} finally {
			if (this.#scanning === running) {
				this.#scanning = undefined;
			}
		}

		if (settled) {
			await this.#idle();
		}

		return counts;
	}

	/** Resolves once nothing waits to settle or be hashed. */
	async #idle(): Promise<void> {
		if (this.#isIdle()) {
			return;
		}

		await new Promise<void>(resolve => {
			this.#idleWaiters.push(resolve);
		});
	}

	#isIdle(): boolean {
		return this.#closed || (this.#settle.size === 0 && this.#hashing.size === 0 && this.#hashQueue.length === 0);
	}

	#wakeIdleWaiters(): void {
		if (this.#isIdle()) {
			for (const resolve of this.#idleWaiters.splice(0)) {
				resolve();
			}
		}
	}

	/** What this peer lists for a name, with the stamp it was hashed at when known. */
	listedWithStamp(name: string): {size: number; stamp?: FileStamp} | undefined {
		const index = this.#ensureIndex();
		const entry = index.get(name);
		return entry && {size: entry.size, stamp: index.stampOf(name)};
	}

	/**
	 * A downloader reports that a listed file's bytes did not match its md5: it is hashed again,
	 * at most once per name every `reverifyMs` (a stranger cannot make this peer hash in a loop).
	 * Returns whether it was queued.
	 */
	reportMismatch(name: string): boolean {
		const now = Date.now();
		const last = this.#verifiedAt.get(name);
		if (!this.#ensureIndex().has(name) || (last !== undefined && now - last < reverifyMs)) {
			return false;
		}

		this.#verifiedAt.set(name, now);
		if (this.#verifiedAt.size > 10_000) {
			this.#verifiedAt.delete(this.#verifiedAt.keys().next().value!);
		}

		void this.verify(name);
		return true;
	}

	/**
	 * Hashes one file again, bypassing every cache: its size or mtime no longer match what is
	 * listed, or a downloader reported that its bytes do not match the md5.
	 */
	async verify(name: string): Promise<void> {
		const dir = this.ioDir;
		if (!dir || !isSharedName(name) || this.#hashing.has(name)) {
			return;
		}

		const stats = await fs.lstat(path.join(dir, name)).catch(() => undefined);
		this.#settle.forget(name);
		if (!stats?.isFile()) {
			if (this.#ensureIndex().remove(name)) {
				this.emit('changed', 'verify');
			}

			return;
		}

		this.#hashQueue.push({name, stamp: stampOf(stats)});
		this.#drainHashQueue();
	}

	async close(): Promise<void> {
		this.#closed = true;
		this.#watch?.close();
		clearTimeout(this.#settleTimer);
		clearTimeout(this.#publishTimer);
		for (const timer of this.#timers) {
			clearInterval(timer);
		}

		await this.#scanning?.catch(() => {});
		this.#wakeIdleWaiters();
		await this.#pin?.close();
	}

	/** Starts the watch, the rescans and the checks of the path (once the caller listens to what they say). */
	start(): void {
		this.#startWatch();
		// Learns each file's stamp (the boot scan's list has none) and catches what changed since the boot scan.
		void this.rescan().catch(() => {});
		if (this.#options.rescanMs > 0) {
			this.#timers.push(setInterval(() => {
				void this.rescan().catch(() => {});
			}, this.#options.rescanMs).unref());
		}

		this.#timers.push(setInterval(() => {
			void this.#guard();
		}, this.#options.guardMs).unref());
	}

	#startWatch(): void {
		const dir = this.ioDir;
		const {rescanMs} = this.#options;
		if (!this.#options.watch || !dir) {
			this.#setWatchState(rescanMs > 0 ? {state: 'rescanning', rescanMs} : {state: 'off'});
			return;
		}

		this.#watch = watchDir(dir, name => {
			this.#saw(name);
		}, error => {
			this.#watch = undefined;
			if (this.#closed || this.#withdrawn) {
				return;
			}

			this.emit('notice', watchFailure(this.shownDir, error, rescanMs));
			this.#setWatchState(rescanMs > 0 ? {state: 'rescanning', rescanMs} : {state: 'off'});
		}, {failWith: this.#options.watchFault});
		this.#setWatchState({state: 'watching', rescanMs});
		void quietFileSystem(dir).then(kind => {
			if (kind && this.#watch) {
				this.emit('notice', `${this.shownDir} is on ${kind}, which may send no change events: the rescan every ${rescanMs / 1000} s finds what the watch misses`);
			}
		});
	}

	#setWatchState(state: WatchState): void {
		this.#watchState = state;
		this.emit('watch', state);
	}

	#ensureIndex(): ShareIndex {
		if (!this.#index) {
			this.#index = new ShareIndex(this.#initial!.entries, new Map(), this.#wholeVersions);
			this.#initial = undefined;
		}

		return this.#index;
	}

	#pathOf(name: string): string {
		return path.join(this.#pin!.ioPath, name);
	}

	/** The watch named an entry: its stat goes to the settle tracker, unless it is what is listed. */
	#saw(name: string): void {
		if (!isSharedName(name) || this.#withdrawn) {
			return;
		}

		let stamp: FileStamp | undefined;
		try {
			const stats = lstatSync(this.#pathOf(name));
			stamp = stats.isFile() ? stampOf(stats) : undefined;
		} catch {}

		const index = this.#ensureIndex();
		if (stamp ? index.isCurrent(name, stamp) : !index.has(name)) {
			this.#settle.forget(name);
			return;
		}

		this.#settle.observe(name, stamp, Date.now());
		this.#scheduleSettle();
	}

	#scheduleSettle(): void {
		clearTimeout(this.#settleTimer);
		const wait = this.#settle.nextDueIn(Date.now());
		if (wait !== undefined && !this.#closed) {
			this.#settleTimer = setTimeout(() => {
				this.#takeSettled();
			}, wait);
		}
	}

	#takeSettled(): void {
		const index = this.#ensureIndex();
		let removed = false;
		for (const due of this.#settle.takeDue(Date.now())) {
			if ('gone' in due) {
				removed = index.remove(due.name) || removed;
			} else {
				this.#hashQueue.push(due);
			}
		}

		this.#scheduleSettle();
		this.#drainHashQueue();
		if (removed) {
			this.#changedWhenReady('watch');
		}
	}

	/** Hashes settled files a few at a time; a file that changed while it was hashed goes back to settle. */
	#drainHashQueue(): void {
		while (this.#hashing.size < hashConcurrency && this.#hashQueue.length > 0) {
			const {name, stamp} = this.#hashQueue.shift()!;
			if (this.#hashing.has(name)) {
				continue;
			}

			this.#hashing.add(name);
			void this.#hashOne(name, stamp).finally(() => {
				this.#hashing.delete(name);
				this.#drainHashQueue();
				this.#changedWhenReady('watch');
			});
		}
	}

	async #hashOne(name: string, stamp: FileStamp): Promise<void> {
		const md5 = await md5OfShared(this.#pathOf(name), stamp);
		if (md5 === undefined) {
			// Changed, replaced or gone while it was hashed: look again.
			this.#saw(name);
			return;
		}

		this.#ensureIndex().set({name, md5, size: stamp.size}, stamp);
	}

	/**
	 * Tells the membership there is something to publish: at once when a batch is full; otherwise
	 * once nothing is being hashed and nothing else settles within `coalesceMs` (a burst goes as a
	 * few large updates, not one per file), and never later than `maxWaitMs` after the first change.
	 */
	#changedWhenReady(from: ChangeSource): void {
		this.#wakeIdleWaiters();
		const index = this.#ensureIndex();
		if (!index.hasPending) {
			this.#pendingSince = undefined;
			return;
		}

		const now = Date.now();
		this.#pendingSince ??= now;
		const busy = this.#hashing.size > 0 || this.#hashQueue.length > 0;
		const soon = this.#settle.nextDueIn(now);
		const waitedLong = now - this.#pendingSince >= maxWaitMs;
		if (index.pendingCount >= maxChangesPerBatch || waitedLong || (!busy && (soon === undefined || soon > coalesceMs))) {
			this.#pendingSince = undefined;
			clearTimeout(this.#publishTimer);
			this.emit('changed', from);
			return;
		}

		// Asked again when the next file settles or is hashed; this timer bounds the wait.
		clearTimeout(this.#publishTimer);
		this.#publishTimer = setTimeout(() => {
			this.#changedWhenReady(from);
		}, Math.max(1, this.#pendingSince + maxWaitMs - now));
	}

	async #scanNow(): Promise<ChangeCounts> {
		const dir = this.ioDir;
		const counts: ChangeCounts = {added: 0, changed: 0, removed: 0};
		if (!dir) {
			return counts;
		}

		const index = this.#ensureIndex();
		// A file counts as still for settleMs only if it was so when the scan began (its stat was taken after that, its bytes read later still): a file written to during a long scan waits to settle.
		const startedAt = Date.now();
		const {files, stamps} = await scanShare(dir, {
			known: (name, stamp) => (index.isCurrent(name, stamp) ? index.get(name)?.md5 : undefined),
		});
		const now = Date.now();
		const seen = new Map(stamps.entries());
		const listed = new Set<string>();
		for (const entry of files.entries) {
			const stamp = seen.get(entry.name)!;
			listed.add(entry.name);
			if (startedAt - stamp.mtimeMs < this.#options.settleMs) {
				// Still being written, perhaps: it waits to settle like a change the watch saw.
				this.#settle.observe(entry.name, stamp, now);
				continue;
			}

			const before = index.get(entry.name);
			if (index.set(entry, stamp)) {
				counts[before ? 'changed' : 'added']++;
			}
		}

		for (const entry of index.entries()) {
			if (!listed.has(entry.name) && !seen.has(entry.name) && index.remove(entry.name)) {
				counts.removed++;
			}
		}

		this.#scheduleSettle();
		this.#changedWhenReady('rescan');
		return counts;
	}

	/** Checks that the path still names the pinned dir; withdraws its files when it does not, and takes the dir back when it returns. */
	async #guard(): Promise<void> {
		if (this.#closed || !this.#pin) {
			return;
		}

		if (!this.#withdrawn) {
			const state = await this.#pin.check();
			if (state !== 'same') {
				this.#withdraw(state);
			}

			return;
		}

		// Back only as a real directory at the same real path: a symlink put in its place is not the share dir.
		const stats = await fs.lstat(this.shownDir).catch(() => undefined);
		const real = stats?.isDirectory() ? await fs.realpath(this.shownDir).catch(() => undefined) : undefined;
		if (real !== this.shownDir) {
			return;
		}

		const pin = await PinnedDir.open(this.shownDir).catch(() => undefined);
		if (!pin || this.#closed) {
			await pin?.close();
			return;
		}

		await this.#pin.close();
		this.#pin = pin;
		this.#withdrawn = undefined;
		await fs.mkdir(path.join(pin.ioPath, '.xfs', 'partial'), {recursive: true}).catch(() => {});
		const counts = await this.rescan().catch(() => undefined);
		this.emit('notice', `share dir ${this.shownDir} is back: ${this.#ensureIndex().size} file(s) shared${counts ? '' : ' (its scan failed; the next rescan tries again)'}`);
		this.#startWatch();
	}

	#withdraw(state: 'moved' | 'gone'): void {
		const index = this.#ensureIndex();
		const count = index.size;
		this.#withdrawn = state;
		this.#watch?.close();
		this.#watch = undefined;
		this.#settle.takeDue(Number.POSITIVE_INFINITY);
		this.#hashQueue = [];
		index.replaceAll([]);
		this.emit('notice', `share dir ${this.shownDir} was ${state === 'gone' ? 'deleted' : 'moved or replaced'}: withdrew its ${count} file(s) from the tracker and serves none until it is back`);
		this.#setWatchState({state: 'off'});
		this.emit('changed', 'withdrawn');
	}
}
