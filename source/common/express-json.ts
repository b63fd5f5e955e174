/** Express pieces both servers use to turn every failure into a JSON error reply. */
import type {ErrorRequestHandler, RequestHandler, Response} from 'express';
import {type ErrorCode, XfsError} from './errors.js';

const statusOf: Record<ErrorCode, number> = {
	BAD_INPUT: 400,
	UNAUTHORIZED: 401,
	NOT_FOUND: 404,
	ID_IN_USE: 409,
	ALREADY_HAVE: 409,
	VERSION_MISMATCH: 409,
	NAME_CONFLICT: 409,
	TOO_LARGE: 413,
	CHECKSUM_MISMATCH: 502,
	PEER_DOWN: 502,
	ALL_PEERS_DOWN: 502,
	TRACKER_DOWN: 503,
	WARMING_UP: 503,
	TOO_FEW_PEERS: 409,
	BUSY: 503,
	NO_SPACE: 507,
	LOCAL_IO: 500,
	CANCELLED: 500,
	INTERNAL: 500,
};

export function sendError(response: Response, code: ErrorCode, message: string): void {
	if (response.headersSent) {
		response.destroy();
		return;
	}

	response.status(statusOf[code]).json({error: {code, message}});
}

export const notFoundRoute: RequestHandler = (request, response) => {
	sendError(response, 'NOT_FOUND', `no route ${request.method} ${request.path.slice(0, 200)}`);
};

/** Body-parser errors become 400/413; XfsErrors keep their code; anything else is a 500 without details. */
export function jsonErrorHandler(onUnexpected: (error: unknown) => void): ErrorRequestHandler {
	return (error, _request, response, _next) => {
		if (error instanceof XfsError) {
			sendError(response, error.code, error.message);
			return;
		}

		const {type} = error as {type?: string};
		if (type === 'entity.too.large') {
			sendError(response, 'TOO_LARGE', 'request body too large');
			return;
		}

		if (type === 'entity.parse.failed') {
			sendError(response, 'BAD_INPUT', 'malformed JSON body');
			return;
		}

		const {status} = error as {status?: number};
		if (typeof status === 'number' && status >= 400 && status < 500) {
			sendError(response, 'BAD_INPUT', (error as Error).message ?? 'bad request');
			return;
		}

		onUnexpected(error);
		sendError(response, 'INTERNAL', 'internal error');
	};
}
