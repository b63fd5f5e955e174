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
	/** A command stopped by SIGINT/SIGTERM before it finished. */
	| 'CANCELLED'
	/** A tracker that started less than one heartbeat ago: not every peer has re-sent its list yet. */
	| 'WARMING_UP'
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
