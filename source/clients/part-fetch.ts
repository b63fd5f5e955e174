/** Client side of multi-source downloads: a holder's parts list, and one part fetched with a Range request into memory. */
import http from 'node:http';
import https from 'node:https';
import {bearer} from '../common/auth.js';
import {PeerDownError} from '../common/errors.js';
import type {ByteSpan} from '../core/part-geometry.js';
import {parsePartsReply, requesterHeader, type PartsReply} from '../common/wire.js';
import {freshConnections} from './fresh-connections.js';
import {requestJson} from './http-json.js';
import {classify, stallWatchdog, TransferError} from './peer-client.js';

export async function getPartsList(url: string, name: string, {timeoutMs, secret}: {timeoutMs: number; secret?: string}): Promise<PartsReply> {
	let body: unknown;
	try {
		body = await requestJson(`${url}/files/${encodeURIComponent(name)}/parts`, {headers: bearer(secret), timeoutMs, agent: freshConnections});
	} catch (error) {
		throw new PeerDownError(`no parts list from ${url}: ${(error as Error).message}`, {cause: error});
	}

	return parsePartsReply(body);
}

export type PartRequest = {
	url: string;
	name: string;
	requesterId: string;
	span: ByteSpan;
	/** The whole file's size, as the tracker gives it: the holder's Content-Range must agree. */
	fileSize: number;
	/** Allowed silence before the first byte (covers the emulated latency) and between bytes. */
	firstByteTimeoutMs: number;
	idleTimeoutMs: number;
	/** One keep-alive connection per holder: one upload at a time on each. */
	agent?: http.Agent;
	/** Shared secret of the network, sent as a bearer token. */
	secret?: string;
	/** Where the bytes go (the span's length); its filled prefix is readable while the part arrives. */
	into?: Buffer;
	signal?: AbortSignal;
	onBytes?: (received: number) => void;
};

/** Fetches `span` of a holder's file; resolves with exactly those bytes, or throws TransferError. */
export async function fetchPart(request: PartRequest): Promise<Buffer> {
	const {url, name, requesterId, span, fileSize, firstByteTimeoutMs, idleTimeoutMs, agent, secret, into, signal, onBytes} = request;
	const target = new URL(`/files/${encodeURIComponent(name)}`, url);
	const transport = target.protocol === 'https:' ? https : http;
	const length = span.end - span.start;
	const controller = new AbortController();
	const abort = (reason: TransferError) => {
		controller.abort(reason);
	};

	const onOuterAbort = () => {
		abort(new TransferError('dropped', 'part no longer needed'));
	};

	if (signal?.aborted) {
		throw new TransferError('dropped', 'part no longer needed');
	}

	signal?.addEventListener('abort', onOuterAbort, {once: true});
	const watchdog = stallWatchdog(url, firstByteTimeoutMs, idleTimeoutMs, abort);

	try {
		const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
			const outgoing = transport.get(target, {
				agent,
				headers: {[requesterHeader]: requesterId, range: `bytes=${span.start}-${span.end - 1}`, ...bearer(secret)},
				signal: controller.signal,
			}, resolve);
			outgoing.once('error', error => {
				reject(controller.signal.aborted ? controller.signal.reason : classify(error, url));
			});
		});

		if (response.statusCode !== 206) {
			response.resume();
			throw response.statusCode === 404
				? new TransferError('not-found', `${url} does not have ${name}`)
				: new TransferError('refused', `${url} answered ${response.statusCode} to a range request${response.statusCode === 401 ? ' (wrong or missing --secret)' : ''}`);
		}

		const expectedRange = `bytes ${span.start}-${span.end - 1}/${fileSize}`;
		if (response.headers['content-range'] !== expectedRange) {
			response.destroy();
			throw new TransferError('checksum-mismatch', `${url} sent ${response.headers['content-range'] ?? 'no Content-Range'}, expected ${expectedRange}`);
		}

		watchdog.reset();
		const part = into ?? Buffer.allocUnsafe(length);
		if (part.length !== length) {
			throw new RangeError(`a buffer of ${part.length} bytes for a span of ${length}`);
		}

		let received = 0;
		await new Promise<void>((resolve, reject) => {
			const fail = (error: unknown) => {
				response.destroy();
				reject(controller.signal.aborted ? controller.signal.reason : classify(error, url));
			};

			controller.signal.addEventListener('abort', () => {
				fail(controller.signal.reason);
			}, {once: true});
			response.on('data', (chunk: Buffer) => {
				watchdog.reset();
				if (received + chunk.length > length) {
					fail(new TransferError('checksum-mismatch', `${url} sent more than the ${length} bytes asked for`));
					return;
				}

				chunk.copy(part, received);
				received += chunk.length;
				onBytes?.(received);
			});
			response.once('end', () => {
				if (received === length) {
					resolve();
				} else {
					fail(new TransferError('dropped', `${url} sent ${received} of ${length} bytes`));
				}
			});
			response.once('error', fail);
			response.once('aborted', () => {
				fail(new TransferError('dropped', `${url} dropped the transfer`));
			});
		});
		return part;
	} finally {
		watchdog.stop();
		signal?.removeEventListener('abort', onOuterAbort);
	}
}
