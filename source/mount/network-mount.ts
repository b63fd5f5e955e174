/**
 * `--mount <dir>`: the whole network as one flat directory over FUSE. Names and sizes come from
 * the network listing; a local file reads the share dir through its pinned handle; a remote file
 * is fetched on read by verified parts (RemoteFile); a new name is written once and published on
 * close. Served by this process's own event loop, so nothing here blocks it.
 */
import {constants} from 'node:fs';
import fs from 'node:fs/promises';
import process from 'node:process';
import {localFault} from '../common/errors.js';
import type {FileEntry, FileSummary} from '../common/wire.js';
import type {MountEvent} from '../core/mount-events.js';
import {allowed, parseMountPath, type MountOperation, type NameState} from '../core/mount-rules.js';
import {openShared} from '../share/share-dir.js';
import type {DownloaderDeps} from '../transfer/download-context.js';
import type {FuseInstance, FuseModule, FuseStat} from './fuse-binding.js';
import type {Deadline} from './deadline.js';
import {fuseOperations, type MountHandlers} from './fuse-ops.js';
import {unmountDir, unmountLazilyNow} from './mount-point.js';
import {NetworkListing, type ListedFile} from './network-listing.js';
import {NewFile} from './new-file.js';
import {PartBuffers} from './part-buffers.js';
import {PartCache} from './part-cache.js';
import {PartHasher} from './part-hasher.js';
import {MountError, RemoteFile, type RemoteReader} from './remote-file.js';

export type NetworkMountOptions = {
	/** The mount point (absolute, empty, not mounted). */
	dir: string;
	fuse: FuseModule;
	fusermountPath: string;
	/** The download services against the share dir's pinned handle; undefined while the share dir is withdrawn. */
	downloaderDeps: () => DownloaderDeps | undefined;
	/** The tracker's file list, without waiting on a tracker that is down. */
	networkFiles: () => Promise<FileSummary[]>;
	localFiles: () => readonly FileEntry[];
	/** A file created through the mount is placed: list it and publish it (the watcher then leaves it alone). */
	announce: (file: FileEntry) => Promise<void>;
	onEvent: (event: MountEvent) => void;
	notice: (message: string) => void;
	peerWaitMs: number;
};

/** getattr, readdir, open and the like: a cold listing waits on the tracker's reply (3 s at most) within it. */
export const metadataDeadlineMs = 5000;
/** A local read or a write of a new file: the share dir's own disk. */
const localIoDeadlineMs = 30_000;
/** However well bytes are flowing, a read of a remote file is answered within this. */
const remoteReadCapMs = 5 * 60_000;
/** Verified parts kept in memory for readers, across all files. */
const partCacheBytes = 32 * 1024 * 1024;
/** Memory of parts kept for reuse while no part needs it. */
const idleBufferBytes = 32 * 1024 * 1024;
/** A remote file whose readers all closed keeps its state this long, for the next open (ls then cat, a player reopening). */
const lingerMs = 5000;

type OpenFile =
	| {kind: 'local'; name: string; handle: fs.FileHandle}
	| {kind: 'remote'; name: string; file: RemoteFile; reader: RemoteReader}
	| {kind: 'new'; name: string; file: NewFile};

/** Every name is a regular file, read-only but for one being written; the one directory may take new names. */
const directoryMode = constants.S_IFDIR | 0o755;
const fileMode = constants.S_IFREG | 0o444;
const newFileMode = constants.S_IFREG | 0o644;

export class NetworkMount {
	/** Mounts and resolves once the mount answers (a stat of the mount point went through this process's FUSE handlers). */
	static async start(options: NetworkMountOptions): Promise<NetworkMount> {
		const mount = new NetworkMount(options);
		mount.#listing.prefetch();
		await mount.#mount();
		return mount;
	}

	readonly dir: string;
	readonly #options: NetworkMountOptions;
	readonly #listing: NetworkListing;
	/** The attributes of each listed file, made once per snapshot entry (`ls -l` asks for every file, again once the kernel's cache expires). */
	readonly #listedStats = new WeakMap<ListedFile, FuseStat>();
	readonly #hasher = new PartHasher();
	readonly #buffers = new PartBuffers(idleBufferBytes);
	readonly #cache = new PartCache(partCacheBytes, bytes => {
		this.#buffers.give(bytes);
	});

	readonly #open = new Map<number, OpenFile>();
	/** Remote files being read, by name. */
	readonly #remote = new Map<string, RemoteFile>();
	readonly #lingering = new Map<RemoteFile, NodeJS.Timeout>();
	/** New files being written through the mount, by name (until placed). */
	readonly #writing = new Map<string, NewFile>();
	#nextHandle = 1;
	/** The mount, held so the native handle lives as long as the mount. */
	#fuse: FuseInstance | undefined;
	#mounted = false;
	readonly #startedAt = new Date();
	readonly #uid = process.getuid?.() ?? 0;
	readonly #gid = process.getgid?.() ?? 0;
	readonly #onExit = () => {
		if (this.#mounted) {
			unmountLazilyNow(this.dir, this.#options.fusermountPath);
		}
	};

	private constructor(options: NetworkMountOptions) {
		this.dir = options.dir;
		this.#options = options;
		this.#listing = new NetworkListing({networkFiles: options.networkFiles, localFiles: options.localFiles, notice: options.notice});
	}

	/** This peer's own list changed: the listing follows at once. */
	changed(): void {
		this.#listing.changed();
	}

	/**
	 * Unmounts (lazily when a file there is still open, saying so) and stops every fetch. Returns
	 * the line to print about a lazy unmount, if there was one.
	 */
	async close(): Promise<string | undefined> {
		if (!this.#mounted) {
			return undefined;
		}

		this.#listing.close();
		const {outcome, message} = await unmountDir(this.dir, this.#options.fusermountPath);
		this.#mounted = outcome === 'failed';
		process.off('exit', this.#onExit);
		for (const timer of this.#lingering.values()) {
			clearTimeout(timer);
		}

		await Promise.allSettled([...new Set([...this.#remote.values(), ...this.#lingering.keys()])].map(async file => file.close()));
		await this.#hasher.close();
		if (outcome === 'lazily') {
			return `mount ${this.dir} was busy (a file or directory there is in use): unmounted lazily; it goes once nothing uses it`;
		}

		return outcome === 'failed' ? `mount ${this.dir} could not be unmounted (${message}); run fusermount -uz ${this.dir}` : undefined;
	}

	async #mount(): Promise<void> {
		const {fuse: Fuse, dir} = this.#options;
		const operations = fuseOperations(this.#handlers(), {metadataMs: metadataDeadlineMs, writeMs: localIoDeadlineMs});
		// The kernel keeps attributes and names 1 s, as long as the listing itself: `ls -l` twice in a row asks once.
		const fuse = new Fuse(dir, operations, {fsname: 'xfs-peer', subtype: 'xfs', attrTimeout: 1, entryTimeout: 1, timeout: false, force: false, mkdir: false});
		await new Promise<void>((resolve, reject) => {
			fuse.mount(error => {
				if (error) {
					reject(error);
				} else {
					resolve();
				}
			});
		});
		this.#fuse = fuse;
		this.#mounted = true;
		process.on('exit', this.#onExit);
		// The stat is served by the handlers above, on this event loop: it returns once the mount answers.
		await fs.stat(dir);
	}

	#handlers(): MountHandlers {
		return {
			getattr: (path): Answer<FuseStat> => this.#attributes(path),
			readdir: (path): Answer<string[]> => this.#list(path),
			open: async (path, flags) => this.#openPath(path, flags),
			create: async path => this.#create(path),
			read: (request): Answer<Buffer[]> => this.#read(request),
			write: async (_path, handle, bytes, offset) => this.#write(handle, bytes, offset),
			flush: async (_path, handle) => this.#flush(handle),
			release: async (_path, handle) => this.#release(handle),
			truncate: async (path, size, handle) => this.#truncate(path, size, handle),
			check: async (operation, path) => this.#check(operation, path),
			statfs: async () => this.#statfs(),
			readDeadlineMs: handle => (this.#open.get(handle)?.kind === 'remote' ? remoteReadCapMs : localIoDeadlineMs),
		};
	}

	#stateOf(name: string): Answer<{state: NameState; listed?: ListedFile}> {
		if (this.#writing.has(name)) {
			return {state: 'writing'};
		}

		return afterwards(this.#listing.lookup(name), listed => (listed ? {state: 'listed', listed} : {state: 'absent'}));
	}

	/** Fails with the rule's errno unless `operation` on `path` is allowed. */
	async #check(operation: MountOperation, path: string): Promise<void> {
		const parsed = parseMountPath(path);
		const {state} = parsed.kind === 'name' ? await this.#stateOf(parsed.name) : {state: 'absent' as const};
		const rule = allowed(operation, parsed, state);
		if (rule !== 'ok') {
			throw new MountError(rule, `${operation} ${path}`);
		}
	}

	#attributes(path: string): Answer<FuseStat> {
		const parsed = parseMountPath(path);
		if (parsed.kind === 'root') {
			return this.#stat(directoryMode, 4096, this.#startedAt, 2);
		}

		if (parsed.kind !== 'name') {
			throw new MountError('ENOENT', path);
		}

		const writing = this.#writing.get(parsed.name);
		if (writing) {
			return this.#stat(newFileMode, writing.size, new Date(writing.createdAt));
		}

		return afterwards(this.#listing.lookup(parsed.name), listed => {
			if (!listed) {
				throw new MountError('ENOENT', path);
			}

			let stat = this.#listedStats.get(listed);
			if (!stat) {
				stat = this.#stat(fileMode, listed.size, new Date(listed.seenAt));
				this.#listedStats.set(listed, stat);
			}

			return stat;
		});
	}

	#stat(mode: number, size: number, time: Date, nlink = 1): FuseStat {
		return {mode, size, uid: this.#uid, gid: this.#gid, nlink, mtime: time, atime: time, ctime: time, blocks: Math.ceil(size / 512), blksize: 4096};
	}

	#list(path: string): Answer<string[]> {
		if (parseMountPath(path).kind !== 'root') {
			throw new MountError('ENOTDIR', path);
		}

		return afterwards(this.#listing.names(), names => {
			const writing = [...this.#writing.keys()].filter(name => !this.#listing.peek(name));
			return ['.', '..', ...names, ...writing];
		});
	}

	async #openPath(path: string, flags: number): Promise<number> {
		const parsed = parseMountPath(path);
		// The access mode is the low two bits of the open flags.
		const writes = (flags & 3) !== constants.O_RDONLY || (flags & constants.O_TRUNC) !== 0;
		if (parsed.kind === 'root') {
			throw new MountError(writes ? 'EISDIR' : 'EPERM', path);
		}

		const {state, listed} = parsed.kind === 'name' ? await this.#stateOf(parsed.name) : {state: 'absent' as const, listed: undefined};
		const rule = allowed(writes ? 'open-write' : 'open-read', parsed, state);
		if (rule !== 'ok' || !listed) {
			throw new MountError(rule === 'ok' ? 'ENOENT' : rule, path);
		}

		if (listed.local) {
			const {shareDir: dir} = this.#options.downloaderDeps() ?? {};
			const opened = dir ? await openShared(dir, listed.name) : undefined;
			if (opened) {
				return this.#remember({kind: 'local', name: listed.name, handle: opened.handle});
			}

			// Listed as ours but not there any more (removed meanwhile): read from the network like any other.
		}

		const file = this.#remoteFile(listed);
		return this.#remember({kind: 'remote', name: listed.name, file, reader: file.openReader()});
	}

	#remoteFile(listed: ListedFile): RemoteFile {
		let file = this.#remote.get(listed.name);
		if (file && (file.md5 !== listed.md5 || file.placed)) {
			// Another version now, or placed already (and listed as remote only until the listing catches up).
			this.#remote.delete(listed.name);
			this.#closeWhenUnused(file);
			file = undefined;
		}

		if (!file) {
			const deps = this.#options.downloaderDeps();
			if (!deps) {
				throw new MountError('EIO', `the share dir is not there: ${listed.name} cannot be fetched into it`);
			}

			file = new RemoteFile({
				deps,
				hasher: this.#hasher,
				cache: this.#cache,
				buffers: this.#buffers,
				onEvent: this.#options.onEvent,
				notice: this.#options.notice,
				onPlaced: () => {
					this.#listing.changed();
				},
			}, listed);
			this.#remote.set(listed.name, file);
			this.#hasher.warm();
		}

		const timer = this.#lingering.get(file);
		if (timer) {
			clearTimeout(timer);
			this.#lingering.delete(file);
		}

		return file;
	}

	#remember(open: OpenFile): number {
		const handle = this.#nextHandle++;
		this.#open.set(handle, open);
		return handle;
	}

	#opened(handle: number): OpenFile {
		const open = this.#open.get(handle);
		if (!open) {
			throw new MountError('EBADF', `no open file ${handle}`);
		}

		return open;
	}

	#read({handle, offset, length, deadline}: {handle: number; offset: number; length: number; deadline: Deadline}): Answer<Buffer[]> {
		const open = this.#opened(handle);
		switch (open.kind) {
			case 'local': {
				const bytes = Buffer.allocUnsafe(length);
				return open.handle.read(bytes, 0, length, offset).then(({bytesRead}) => [bytes.subarray(0, bytesRead)]);
			}

			case 'remote': {
				return open.file.readBytes(open.reader, offset, length, deadline);
			}

			case 'new': {
				throw new MountError('EBADF', `${open.name} is open for writing`);
			}
		}
	}

	async #create(path: string): Promise<number> {
		const parsed = parseMountPath(path);
		const {state} = parsed.kind === 'name' ? await this.#stateOf(parsed.name) : {state: 'absent' as const};
		const rule = allowed('create', parsed, state);
		if (rule !== 'ok' || parsed.kind !== 'name') {
			throw new MountError(rule === 'ok' ? 'EINVAL' : rule, path);
		}

		const {shareDir: dir} = this.#options.downloaderDeps() ?? {};
		if (!dir) {
			throw new MountError('EROFS', 'the share dir is not there');
		}

		let file: NewFile;
		try {
			file = await NewFile.create(dir, parsed.name);
		} catch (error) {
			throw new MountError(localFault(error, dir, 'create')?.code === 'NO_SPACE' ? 'ENOSPC' : 'EIO', (error as Error).message, {cause: error});
		}

		this.#writing.set(parsed.name, file);
		return this.#remember({kind: 'new', name: parsed.name, file});
	}

	async #write(handle: number, bytes: Buffer, offset: number): Promise<number> {
		const open = this.#opened(handle);
		if (open.kind !== 'new') {
			throw new MountError('EBADF', `${open.name} is not open for writing`);
		}

		try {
			return await open.file.write(bytes, offset);
		} catch (error) {
			throw diskError(error);
		}
	}

	async #truncate(path: string, size: number, handle?: number): Promise<void> {
		const open = handle === undefined ? undefined : this.#open.get(handle);
		const parsed = parseMountPath(path);
		const file = open?.kind === 'new' ? open.file : (parsed.kind === 'name' ? this.#writing.get(parsed.name) : undefined);
		if (!file) {
			await this.#check('truncate', path);
			throw new MountError('EROFS', path);
		}

		await file.truncate(size).catch((error: unknown) => {
			throw diskError(error);
		});
	}

	async #flush(handle: number): Promise<void> {
		const open = this.#open.get(handle);
		if (open?.kind === 'new') {
			await open.file.flush().catch((error: unknown) => {
				throw diskError(error);
			});
		}
	}

	/** The last close of an open file: a new file is placed and published (in the background: the kernel does not wait for it). */
	async #release(handle: number): Promise<void> {
		const open = this.#open.get(handle);
		this.#open.delete(handle);
		switch (open?.kind) {
			case 'local': {
				await open.handle.close().catch(() => {});
				break;
			}

			case 'remote': {
				open.file.releaseReader(open.reader);
				if (open.file.readers === 0) {
					this.#closeWhenUnused(open.file);
				}

				break;
			}

			case 'new': {
				void this.#publishNew(open.file);
				break;
			}

			case undefined: {
				break;
			}
		}
	}

	async #publishNew(file: NewFile): Promise<void> {
		try {
			const entry = await file.place();
			await this.#options.announce(entry);
			this.#options.notice(`mount: ${entry.name} written through the mount (${entry.size} bytes, md5 ${entry.md5}): placed in the share dir and published`);
		} catch (error) {
			await file.discard().catch(() => {});
			this.#options.notice(`mount: ${file.name} was written through the mount but not placed: ${(error as Error).message}`);
		} finally {
			this.#writing.delete(file.name);
			this.#listing.changed();
		}
	}

	/** A remote file nobody reads: kept for a moment (the next open reuses what it fetched), then closed. */
	#closeWhenUnused(file: RemoteFile): void {
		if (file.readers > 0 || this.#lingering.has(file)) {
			return;
		}

		this.#lingering.set(file, setTimeout(() => {
			this.#lingering.delete(file);
			if (file.readers > 0) {
				return;
			}

			if (this.#remote.get(file.name) === file) {
				this.#remote.delete(file.name);
			}

			void file.close();
		}, lingerMs).unref());
	}

	async #statfs(): Promise<Record<string, number>> {
		const {shareDir: dir} = this.#options.downloaderDeps() ?? {};
		const stats = dir ? await fs.statfs(dir).catch(() => undefined) : undefined;
		return {
			bsize: stats?.bsize ?? 4096,
			frsize: stats?.bsize ?? 4096,
			blocks: stats?.blocks ?? 0,
			bfree: stats?.bfree ?? 0,
			bavail: stats?.bavail ?? 0,
			files: stats?.files ?? 0,
			ffree: stats?.ffree ?? 0,
			favail: stats?.ffree ?? 0,
			namemax: 255,
		};
	}
}

type Answer<T> = T | Promise<T>;

/** `then` for a value that may be there already: no promise (nor a turn of the event loop) when it is. */
function afterwards<T, U>(value: Answer<T>, next: (value: T) => U): Answer<U> {
	return value instanceof Promise ? value.then(next) : next(value);
}

/** A local disk's failure while writing a new file: ENOSPC for a full disk, EIO otherwise. */
function diskError(error: unknown): MountError {
	const {code} = error as NodeJS.ErrnoException;
	return new MountError(code === 'ENOSPC' || code === 'EDQUOT' ? 'ENOSPC' : 'EIO', (error as Error).message, {cause: error});
}

