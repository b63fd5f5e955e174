/**
 * What the mount allows (pure): its paths are a flat namespace of shared names, existing names are
 * immutable, and a new name may be written once, by the file that created it, until it is closed.
 * Answers are errno names; the FUSE glue turns them into numbers.
 */
import {isValidFileName} from '../common/wire.js';

export type Errno = 'ENOENT' | 'EINVAL' | 'EROFS' | 'EPERM' | 'EEXIST' | 'EACCES' | 'EIO' | 'EBADF' | 'ENOTDIR' | 'EISDIR' | 'ENOSPC';

export type MountPath = {kind: 'root'} | {kind: 'name'; name: string} | {kind: 'invalid'; name: string} | {kind: 'nested'};

/** A path as FUSE gives it (`/`, `/name`, `/dir/name`). */
export function parseMountPath(path: string): MountPath {
	if (path === '/' || path === '') {
		return {kind: 'root'};
	}

	const name = path.startsWith('/') ? path.slice(1) : path;
	if (name.includes('/')) {
		return {kind: 'nested'};
	}

	return isValidFileName(name) ? {kind: 'name', name} : {kind: 'invalid', name};
}

/**
 * What a name is to the mount: not there; listed (a file of this peer or of the network: immutable);
 * or being written through the mount (created, not yet closed and placed).
 */
export type NameState = 'absent' | 'listed' | 'writing';

export type MountOperation =
	| 'lookup'
	| 'open-read'
	| 'open-write'
	| 'create'
	| 'truncate'
	| 'unlink'
	| 'rename'
	| 'set-attributes'
	| 'mkdir'
	| 'rmdir'
	| 'link';

/** Whether `operation` on `path` may go ahead ('ok') or the errno it fails with. `state` is the name's, for a valid name. */
export function allowed(operation: MountOperation, path: MountPath, state: NameState = 'absent'): 'ok' | Errno {
	// The namespace is flat: no directory is ever made, wherever it is asked for.
	if (operation === 'mkdir') {
		return 'EPERM';
	}

	if (operation === 'link') {
		return path.kind === 'name' && state !== 'absent' ? 'EEXIST' : 'EPERM';
	}

	switch (path.kind) {
		case 'root': {
			return rootRule(operation);
		}

		case 'nested': {
			return 'ENOENT';
		}

		case 'invalid': {
			// A name that could never be shared is not there to find, and cannot be made.
			return operation === 'create' ? 'EINVAL' : (operation === 'rmdir' ? 'ENOTDIR' : 'ENOENT');
		}

		case 'name': {
			return nameRule(operation, state);
		}
	}
}

function rootRule(operation: MountOperation): 'ok' | Errno {
	if (operation === 'lookup' || operation === 'open-read') {
		return 'ok';
	}

	return operation === 'open-write' || operation === 'create' ? 'EISDIR' : 'EPERM';
}

function nameRule(operation: MountOperation, state: NameState): 'ok' | Errno {
	if (operation === 'rmdir') {
		return state === 'absent' ? 'ENOENT' : 'ENOTDIR';
	}

	if (state === 'absent') {
		return operation === 'create' ? 'ok' : 'ENOENT';
	}

	if (operation === 'lookup') {
		return 'ok';
	}

	if (operation === 'create') {
		return 'EEXIST';
	}

	if (state === 'listed') {
		return operation === 'open-read' ? 'ok' : 'EROFS';
	}

	// Being written: its creator may size it and set its times and mode (cp -p) before closing it;
	// nobody opens it meanwhile (written once, by the handle that created it), and it cannot go away.
	if (operation === 'truncate' || operation === 'set-attributes') {
		return 'ok';
	}

	return operation === 'open-read' || operation === 'open-write' ? 'EACCES' : 'EROFS';
}
