/**
 * The servers' side of request signing: one Express middleware that checks a request's MAC (with
 * --secret) and its peer signature, refuses replays, and leaves the signing key in
 * `response.locals.signer` for the routes. The secret itself never crosses the wire.
 */
import express, {type Request, type RequestHandler} from 'express';
import {sendError} from './express-json.js';
import {checkRequest, ReplayGuard, replayWindowMs, type SessionLookup, signatureHeaders} from './signing.js';

type WithRawBody = Request & {rawBody?: Buffer};

/** express.json that also keeps the body's bytes: the signature covers them as sent. */
export function signedJson(limit: string | number): RequestHandler {
	return express.json({
		limit,
		verify(request, _response, buffer) {
			(request as WithRawBody).rawBody = buffer;
		},
	});
}

export type SignedOptions = {
	secret?: string;
	/** Whether every request must be signed by a peer key (tracker writes). */
	needKey: boolean;
	/** Shared by the middlewares of one server: a request is accepted once. */
	guard?: ReplayGuard;
	/** The live sessions (the tracker): a request may carry a session's MAC instead of a signature. */
	sessionOf?: SessionLookup;
	now?: () => number;
	/** Told of each refusal, and of a MAC sent to a server without a secret (a mismatch). */
	onRefused?: (reason: string, request: Request) => void;
	onMismatch?: (request: Request) => void;
};

type SignedLocals = {signer?: string; viaSession?: boolean; offer?: string};

/** The signing key of a checked request, if it carried one (directly or through its session). */
export function signerOf(response: express.Response): string | undefined {
	return (response.locals as SignedLocals).signer;
}

/** How a checked request spoke for its key: through a session, or signed by the key with a session offer or without. */
export function sessionPartOf(response: express.Response): {viaSession: boolean; offer?: string} {
	const {viaSession = false, offer} = response.locals as SignedLocals;
	return {viaSession, offer};
}

/**
 * Before a body is read: a request without a fresh timestamp (or, when `needKey`, without a key)
 * is refused at once, so a stranger's 16 MB body is not parsed to be refused.
 */
export function requireSignatureHeaders({needKey, now = Date.now}: {needKey: boolean; now?: () => number}): RequestHandler {
	return (request, response, next) => {
		const time = Number(request.get(signatureHeaders.time));
		if (!Number.isFinite(time) || Math.abs(now() - time) > replayWindowMs || (needKey && request.get(signatureHeaders.key) === undefined && request.get(signatureHeaders.session) === undefined)) {
			sendError(response, 'UNAUTHORIZED', Number.isFinite(time) && Math.abs(now() - time) > replayWindowMs
				? `the request's timestamp is ${Math.round((now() - time) / 1000)} s off this clock (the window is ±${replayWindowMs / 1000} s)`
				: 'the request is not signed (no timestamp and nonce)');
			return;
		}

		next();
	};
}

/** Checks every request it sees (mount it on the routes to guard); a refusal is 401 UNAUTHORIZED. */
export function requireSigned({secret, needKey, guard = new ReplayGuard(), now = Date.now, onRefused, onMismatch, sessionOf}: SignedOptions): RequestHandler {
	return (request, response, next) => {
		const at = now();
		const check = checkRequest(request.headers, {method: request.method, path: request.originalUrl, body: (request as WithRawBody).rawBody}, {secret, needKey, now: at, sessionOf});
		if (check.ok && (check.replayId === '' || guard.admit(check.replayId, at))) {
			if (!secret && request.headers[signatureHeaders.mac] !== undefined) {
				onMismatch?.(request);
			}

			Object.assign(response.locals as SignedLocals, {signer: check.key, viaSession: check.viaSession, offer: check.offer});
			next();
			return;
		}

		const reason = check.ok ? 'the request was replayed (its signature was seen already)' : check.reason;
		onRefused?.(reason, request);
		sendError(response, 'UNAUTHORIZED', reason);
	};
}
