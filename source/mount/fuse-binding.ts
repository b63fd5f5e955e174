/**
 * FUSE for the mount, found before anything is mounted: the device, the fuse-native package (an
 * optional dependency) over the system's libfuse2, and fusermount. When one is missing, the line
 * that says which and how to install it; nothing else in the peer loads fuse-native.
 */
import {constants, accessSync} from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import process from 'node:process';

/** The callback every FUSE operation answers through: an errno (0 or negative) and its values. */
export type FuseReply = (code: number, ...values: unknown[]) => void;

export type FuseStat = {mode: number; size: number; uid: number; gid: number; nlink: number; mtime: Date; atime: Date; ctime: Date; blocks?: number; blksize?: number};

/** The operations the mount implements, as fuse-native calls them (paths, file handles, buffers the kernel lends). */
export type FuseOperations = {
	init?: (reply: FuseReply) => void;
	getattr: (path: string, reply: (code: number, stat?: FuseStat) => void) => void;
	fgetattr?: (path: string, fd: number, reply: (code: number, stat?: FuseStat) => void) => void;
	readdir: (path: string, reply: (code: number, names?: string[]) => void) => void;
	open: (path: string, flags: number, reply: (code: number, fd?: number) => void) => void;
	create: (path: string, mode: number, reply: (code: number, fd?: number) => void) => void;
	/** The kernel lends `buffer` for this call; `reply` gets the bytes put in it, or a negative errno. */
	read: (...args: [path: string, fd: number, buffer: Buffer, length: number, position: number, reply: (bytes: number) => void]) => void;
	write: (...args: [path: string, fd: number, buffer: Buffer, length: number, position: number, reply: (bytes: number) => void]) => void;
	flush: (path: string, fd: number, reply: (code: number) => void) => void;
	fsync: (path: string, datasync: boolean, fd: number, reply: (code: number) => void) => void;
	release: (path: string, fd: number, reply: (code: number) => void) => void;
	truncate: (path: string, size: number, reply: (code: number) => void) => void;
	ftruncate: (path: string, fd: number, size: number, reply: (code: number) => void) => void;
	unlink: (path: string, reply: (code: number) => void) => void;
	rename: (source: string, destination: string, reply: (code: number) => void) => void;
	mkdir: (path: string, mode: number, reply: (code: number) => void) => void;
	rmdir: (path: string, reply: (code: number) => void) => void;
	link: (source: string, destination: string, reply: (code: number) => void) => void;
	symlink: (source: string, destination: string, reply: (code: number) => void) => void;
	mknod: (path: string, mode: number, device: number, reply: (code: number) => void) => void;
	chmod: (path: string, mode: number, reply: (code: number) => void) => void;
	chown: (path: string, uid: number, gid: number, reply: (code: number) => void) => void;
	utimens: (path: string, atime: number, mtime: number, reply: (code: number) => void) => void;
	statfs: (path: string, reply: (code: number, stats?: Record<string, number>) => void) => void;
};

export type FuseMountOptions = {
	fsname?: string;
	subtype?: string;
	attrTimeout?: number;
	entryTimeout?: number;
	/** fuse-native's own per-operation timeout; the mount keeps its own deadlines. */
	timeout?: false | number;
	force?: boolean;
	mkdir?: boolean;
	debug?: boolean;
};

export type FuseInstance = {
	mount: (callback: (error?: Error | null) => void) => void;
	unmount: (callback: (error?: Error | null) => void) => void;
};

export type FuseModule = new (mountPoint: string, operations: FuseOperations, options?: FuseMountOptions) => FuseInstance;

export type FuseAvailability = {ok: true; fuse: FuseModule; fusermount: string} | {ok: false; missing: string};

const install = 'on Debian: apt-get install libfuse2 fuse';

/**
 * Looks for everything the mount needs. `XFS_FUSE_DEVICE` and `XFS_FUSE_MODULE` (test aids) point
 * the check at another device or package, so a test can take one away and see the real answer.
 */
export function findFuse(env: Readonly<Record<string, string | undefined>> = process.env): FuseAvailability {
	const device = env.XFS_FUSE_DEVICE ?? '/dev/fuse';
	try {
		accessSync(device, constants.R_OK | constants.W_OK);
	} catch (error) {
		const {code} = error as NodeJS.ErrnoException;
		return {ok: false, missing: code === 'ENOENT'
			? `${device} is missing (the fuse kernel module is not loaded: modprobe fuse; in a container, give it the device); ${install}`
			: `${device} cannot be opened for reading and writing (${code ?? 'error'}): run as root or as a member of the fuse group; ${install}`};
	}

	const fusermount = onPath('fusermount', env.PATH ?? '');
	if (!fusermount) {
		return {ok: false, missing: `fusermount is not on PATH (it comes with the fuse package); ${install}`};
	}

	const moduleName = env.XFS_FUSE_MODULE ?? 'fuse-native';
	try {
		const fuse = createRequire(import.meta.url)(moduleName) as FuseModule;
		return {ok: true, fuse, fusermount};
	} catch (error) {
		return {ok: false, missing: loadFailure(moduleName, error as NodeJS.ErrnoException)};
	}
}

/** What a failed load of fuse-native says is missing: the package itself, or the libfuse2 it links against. */
export function loadFailure(moduleName: string, error: {code?: string; message: string}): string {
	const firstLine = error.message.split('\n')[0]!;
	if (error.code === 'MODULE_NOT_FOUND' && firstLine.includes(moduleName)) {
		return `the optional package ${moduleName} is not installed (npm install ${moduleName}), and it needs the system's libfuse2; ${install}`;
	}

	if (firstLine.includes('libfuse.so')) {
		return `libfuse2 is not installed (${firstLine}); ${install}`;
	}

	return `${moduleName} does not load (${firstLine}); ${install}`;
}

function onPath(program: string, searchPath: string): string | undefined {
	for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
		const candidate = path.join(dir, program);
		try {
			accessSync(candidate, constants.X_OK);
			return candidate;
		} catch {}
	}

	return undefined;
}
