/**
 * The FUSE glue: fuse-native's callbacks in, the mount's handlers out. Each operation is answered
 * exactly once: at once when the handler has the answer (an attribute from the listing, a part in
 * memory), else within its deadline (EIO when it passes), with errno numbers from the handlers'
 * MountErrors. Bytes are copied into the kernel's buffer only when the answer is given, so nothing
 * is written into it after a deadline has answered for it.
 */
import {constants} from 'node:os';
import type {Errno, MountOperation} from '../core/mount-rules.js';
import {Deadline} from './deadline.js';
import type {FuseOperations, FuseStat} from './fuse-binding.js';
import {MountError} from './remote-file.js';

/** What the mount does for each operation: a value at once when it has it (no promise, no timer), or a promise of it. */
type Answer<T> = T | Promise<T>;

export type MountHandlers = {
	getattr: (path: string) => Answer<FuseStat>;
	readdir: (path: string) => Answer<string[]>;
	open: (path: string, flags: number) => Answer<number>;
	create: (path: string, mode: number) => Answer<number>;
	/** Verified bytes, in order; fewer than asked at the end of the file. */
	read: (request: {handle: number; offset: number; length: number; deadline: Deadline}) => Answer<Buffer[]>;
	/** `bytes` is the mount's own copy of what the kernel sent. */
	write: (path: string, handle: number, bytes: Buffer, offset: number) => Answer<number>;
	flush: (path: string, handle: number) => Answer<void>;
	release: (path: string, handle: number) => Answer<void>;
	truncate: (path: string, size: number, handle?: number) => Answer<void>;
	/** Operations the mount only checks (and refuses unless the rules allow them): rename, unlink, chmod and the like. */
	check: (operation: MountOperation, path: string) => Answer<void>;
	statfs: () => Answer<Record<string, number>>;
	/** How long a read of this handle may take at most (remote reads watch their own progress within it). */
	readDeadlineMs: (handle: number) => number;
};

export type Deadlines = {
	/** getattr, readdir, open, create, flush, release and the rest. */
	metadataMs: number;
	/** Writes of new files, into the share dir's disk. */
	writeMs: number;
};

export function errnoNumber(errno: Errno): number {
	return constants.errno[errno];
}

/** The negative errno for an error (EIO for anything that is not a MountError). */
function failureCode(error: unknown): number {
	return -(error instanceof MountError ? errnoNumber(error.errno) : errnoNumber('EIO'));
}

/**
 * Runs `work` and answers once: with its value (at once when it has one), its error, or EIO when
 * `deadlineMs` passes first; the work sees its deadline pass and stops waiting.
 */
function answer<T>(deadlineMs: number, work: (deadline: Deadline) => Answer<T>, ok: (value: T) => void, fail: (code: number) => void): void {
	const deadline = new Deadline();
	let result: Answer<T>;
	try {
		result = work(deadline);
	} catch (error) {
		fail(failureCode(error));
		return;
	}

	if (!(result instanceof Promise)) {
		ok(result);
		return;
	}

	let answered = false;
	const timer = setTimeout(() => {
		if (!answered) {
			answered = true;
			deadline.expire();
			fail(-errnoNumber('EIO'));
		}
	}, deadlineMs);
	result.then(value => {
		if (!answered) {
			answered = true;
			clearTimeout(timer);
			ok(value);
		}
	}, (error: unknown) => {
		if (!answered) {
			answered = true;
			clearTimeout(timer);
			fail(failureCode(error));
		}
	});
}

export function fuseOperations(handlers: MountHandlers, {metadataMs, writeMs}: Deadlines): FuseOperations {
	const status = (reply: (code: number) => void) => [() => {
		reply(0);
	}, reply] as const;
	return {
		getattr(path, reply) {
			answer(metadataMs, (): Answer<FuseStat> => handlers.getattr(path), stat => {
				reply(0, stat);
			}, reply);
		},
		fgetattr(path, _handle, reply) {
			answer(metadataMs, (): Answer<FuseStat> => handlers.getattr(path), stat => {
				reply(0, stat);
			}, reply);
		},
		readdir(path, reply) {
			answer(metadataMs, (): Answer<string[]> => handlers.readdir(path), names => {
				reply(0, names);
			}, reply);
		},
		open(path, flags, reply) {
			answer(metadataMs, (): Answer<number> => handlers.open(path, flags), handle => {
				reply(0, handle);
			}, reply);
		},
		create(path, mode, reply) {
			answer(metadataMs, (): Answer<number> => handlers.create(path, mode), handle => {
				reply(0, handle);
			}, reply);
		},
		read(...[_path, handle, buffer, length, position, reply]) {
			answer(handlers.readDeadlineMs(handle), (deadline): Answer<Buffer[]> => handlers.read({handle, offset: position, length, deadline}), chunks => {
				let copied = 0;
				for (const chunk of chunks) {
					copied += chunk.copy(buffer, copied, 0, Math.min(chunk.length, length - copied));
				}

				reply(copied);
			}, reply);
		},
		write(...[path, handle, buffer, length, position, reply]) {
			// The kernel's buffer is only lent for this call: the bytes are copied before anything waits.
			const bytes = Buffer.from(buffer.subarray(0, length));
			answer(writeMs, (): Answer<number> => handlers.write(path, handle, bytes, position), reply, reply);
		},
		flush(path, handle, reply) {
			answer(writeMs, (): Answer<void> => handlers.flush(path, handle), ...status(reply));
		},
		fsync(path, _datasync, handle, reply) {
			answer(writeMs, (): Answer<void> => handlers.flush(path, handle), ...status(reply));
		},
		release(path, handle, reply) {
			answer(metadataMs, (): Answer<void> => handlers.release(path, handle), ...status(reply));
		},
		truncate(path, size, reply) {
			answer(writeMs, (): Answer<void> => handlers.truncate(path, size), ...status(reply));
		},
		ftruncate(path, handle, size, reply) {
			answer(writeMs, (): Answer<void> => handlers.truncate(path, size, handle), ...status(reply));
		},
		unlink(path, reply) {
			answer(metadataMs, (): Answer<void> => handlers.check('unlink', path), ...status(reply));
		},
		rename(source, _destination, reply) {
			answer(metadataMs, (): Answer<void> => handlers.check('rename', source), ...status(reply));
		},
		mkdir(path, _mode, reply) {
			answer(metadataMs, (): Answer<void> => handlers.check('mkdir', path), ...status(reply));
		},
		rmdir(path, reply) {
			answer(metadataMs, (): Answer<void> => handlers.check('rmdir', path), ...status(reply));
		},
		link(_source, destination, reply) {
			answer(metadataMs, (): Answer<void> => handlers.check('link', destination), ...status(reply));
		},
		symlink(_target, path, reply) {
			answer(metadataMs, (): Answer<void> => handlers.check('link', path), ...status(reply));
		},
		mknod(path, _mode, _device, reply) {
			// Regular files are made by create; anything else (FIFOs, devices) has no place in a share.
			answer(metadataMs, (): Answer<void> => handlers.check('link', path), ...status(reply));
		},
		chmod(path, _mode, reply) {
			answer(metadataMs, (): Answer<void> => handlers.check('set-attributes', path), ...status(reply));
		},
		chown(path, _uid, _gid, reply) {
			answer(metadataMs, (): Answer<void> => handlers.check('set-attributes', path), ...status(reply));
		},
		utimens(path, _atime, _mtime, reply) {
			answer(metadataMs, (): Answer<void> => handlers.check('set-attributes', path), ...status(reply));
		},
		statfs(_path, reply) {
			answer(metadataMs, (): Answer<Record<string, number>> => handlers.statfs(), stats => {
				reply(0, stats);
			}, reply);
		},
	};
}
