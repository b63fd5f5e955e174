/** Stable error codes shared by both programs, the wire and the command layer. */
export type ErrorCode =
	| 'NOT_FOUND'
	| 'TRACKER_DOWN'
	| 'ALL_PEERS_DOWN'
	| 'CHECKSUM_MISMATCH'
	| 'BAD_INPUT'
	| 'PEER_DOWN'
	| 'ALREADY_HAVE'
	| 'ID_IN_USE'
	| 'TOO_LARGE'
	| 'UNAUTHORIZED'
	/** An incremental list update that does not start from the version the tracker holds. */
	| 'VERSION_MISMATCH'
	/** This peer's own disk has no room for the file (ENOSPC, EDQUOT, or too little free before starting). */
	| 'NO_SPACE'
	/** This peer's own disk or share dir failed (read-only, no permission, the dir gone): never a holder's fault. */
	| 'LOCAL_IO'
	/** A holder with every upload slot taken (503 with Retry-After): tried again later, not reported. */
	| 'BUSY'
	/** A command stopped by SIGINT/SIGTERM before it finished. */
	| 'CANCELLED'
	/** A tracker that started less than one heartbeat ago: not every peer has re-sent its list yet. */
	| 'WARMING_UP'
	/** Two keys claim one name with different contents and the tracker cannot tell which came first: ask by md5 (name@md5). */
	| 'NAME_CONFLICT'
	/** put: no other live peer to keep a copy on. */
	| 'TOO_FEW_PEERS'
	| 'INTERNAL';

export type ErrorBody = {code: ErrorCode; message: string};

export class XfsError extends Error {
	readonly code: ErrorCode;

	constructor(code: ErrorCode, message: string, options?: {cause?: unknown}) {
		super(message, options);
		this.name = 'XfsError';
		this.code = code;
	}

	toJSON(): ErrorBody {
		return {code: this.code, message: this.message};
	}
}

export class BadInputError extends XfsError {
	constructor(message: string, options?: {cause?: unknown}) {
		super('BAD_INPUT', message, options);
		this.name = 'BadInputError';
	}
}

export class NotFoundError extends XfsError {
	constructor(message: string, options?: {cause?: unknown}) {
		super('NOT_FOUND', message, options);
		this.name = 'NotFoundError';
	}
}

export class TrackerDownError extends XfsError {
	constructor(message: string, options?: {cause?: unknown}) {
		super('TRACKER_DOWN', message, options);
		this.name = 'TrackerDownError';
	}
}

export class PeerDownError extends XfsError {
	constructor(message: string, options?: {cause?: unknown}) {
		super('PEER_DOWN', message, options);
		this.name = 'PeerDownError';
	}
}

/** errno codes of a local write or read that failed on this peer's own disk. */
const noSpaceCodes = new Set(['ENOSPC', 'EDQUOT']);
const localIoCodes = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOENT', 'ENOTDIR', 'EIO', 'EISDIR', 'EMFILE', 'ENFILE', 'EFBIG', 'ESTALE']);

/** A fault of this peer's own disk: reported as local, never blamed on a holder, never retried against another. */
export class LocalFaultError extends XfsError {
	declare readonly code: 'NO_SPACE' | 'LOCAL_IO';
	readonly path: string;

	constructor(code: 'NO_SPACE' | 'LOCAL_IO', path: string, message: string, options?: {cause?: unknown}) {
		super(code, message, options);
		this.name = 'LocalFaultError';
		this.path = path;
	}
}

/** The LocalFaultError for an errno error from the local disk at `path`, or undefined when it is not one. */
export function localFault(error: unknown, path: string, doing: string): LocalFaultError | undefined {
	if (error instanceof LocalFaultError) {
		return error;
	}

	const code = (error as NodeJS.ErrnoException | undefined)?.code;
	if (code === undefined) {
		return undefined;
	}

	if (noSpaceCodes.has(code)) {
		return new LocalFaultError('NO_SPACE', path, `no space left to ${doing} ${path} (${code})`, {cause: error});
	}

	if (localIoCodes.has(code)) {
		return new LocalFaultError('LOCAL_IO', path, `cannot ${doing} ${path}: ${code}${code === 'ENOENT' ? ' (the share dir or its .xfs folder is gone)' : ''}`, {cause: error});
	}

	return undefined;
}

/** A bad flag, share dir or latency file: the program prints one line and exits 2. */
export class UsageError extends Error {
	constructor(message: string, options?: {cause?: unknown}) {
		super(message, options);
		this.name = 'UsageError';
	}
}

/** Any thrown value as a wire/command error body; unknown errors keep their message. */
export function toErrorBody(error: unknown): ErrorBody {
	if (error instanceof XfsError) {
		return error.toJSON();
	}

	const message = error instanceof Error ? error.message : String(error);
	return {code: 'INTERNAL', message};
}
