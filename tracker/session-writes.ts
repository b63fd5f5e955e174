/** The tracker's fast path for writes through a session: which requests it takes, and how it reads their body. */
import type {IncomingMessage} from 'node:http';
import {signatureHeaders} from '../source/common/signing.js';
import {isValidPeerId} from '../source/common/wire.js';

/** The largest body the fast path reads itself (a list of about 10 000 files); a larger one goes through the app. */
const fastBodyLimit = 1024 * 1024;

/** Reads a body of `length` bytes (as its content-length says), then calls `done` with it. */
export function readBody(request: IncomingMessage, length: number, done: (body: Buffer) => void): void {
	if (length === 0) {
		request.resume();
		request.once('end', () => {
			done(Buffer.alloc(0));
		});
		return;
	}

	const chunks: Buffer[] = [];
	let size = 0;
	request.on('data', (chunk: Buffer) => {
		size += chunk.length;
		if (size <= length) {
			chunks.push(chunk);
		}
	});
	request.once('end', () => {
		done(Buffer.concat(chunks));
	});
}

export function parseJsonBody(raw: Buffer): unknown {
	try {
		return JSON.parse(raw.toString('utf8')) as unknown;
	} catch {
		return undefined;
	}
}

/** A heartbeat, or an UpdateList of at most 1 MiB, through a session: the candidates for the fast path. */
export function sessionWrite(request: IncomingMessage): {id: string; kind: 'list' | 'heartbeat'; length: number} | undefined {
	if (request.headers[signatureHeaders.session] === undefined || !request.url!.startsWith('/peers/')) {
		return undefined;
	}

	const [id, rest] = request.url!.slice('/peers/'.length).split('/', 2) as [string, string | undefined];
	const length = Number(request.headers['content-length'] ?? 0);
	if (!isValidPeerId(id) || !Number.isSafeInteger(length) || length > fastBodyLimit) {
		return undefined;
	}

	if (request.headers['transfer-encoding'] !== undefined) {
		return undefined;
	}

	if (request.method === 'PUT' && rest === undefined && request.headers['content-length'] !== undefined && request.headers['content-type']?.startsWith('application/json')) {
		return {id, kind: 'list', length};
	}

	return request.method === 'POST' && rest === 'heartbeat' ? {id, kind: 'heartbeat', length} : undefined;
}
