/** The optional shared secret: a bearer token that tracker writes and peer downloads must carry. */
import {createHash, timingSafeEqual} from 'node:crypto';
import type {RequestHandler} from 'express';
import {sendError} from './express-json.js';

export function bearer(secret: string | undefined): Record<string, string> {
	return secret ? {authorization: `Bearer ${secret}`} : {};
}

/** True when the Authorization header carries the secret; compared in constant time. */
export function carriesSecret(header: string | undefined, secret: string): boolean {
	const match = /^Bearer (.+)$/.exec(header ?? '');
	if (!match) {
		return false;
	}

	const digest = (text: string) => createHash('sha256').update(text).digest();
	return timingSafeEqual(digest(match[1]!), digest(secret));
}

/** Without a secret every request passes; with one, a request without it is 401 UNAUTHORIZED. */
export function requireSecret(secret: string | undefined): RequestHandler {
	return (request, response, next) => {
		if (!secret || carriesSecret(request.get('authorization'), secret)) {
			next();
			return;
		}

		response.setHeader('WWW-Authenticate', 'Bearer realm="xfs"');
		sendError(response, 'UNAUTHORIZED', 'this network needs the shared secret (--secret / XFS_SECRET)');
	};
}
