/** Client side of the peer protocol: GetLoad, and receiving a file into a temp file while hashing it. */
import http from 'node:http';
import https from 'node:https';
import {pipeline} from 'node:stream/promises';
import {bearer} from './auth.js';
import {PeerDownError} from './errors.js';
import {freshConnections} from './fresh-connections.js';
import {HashingFileSink} from './hashing-sink.js';
import {requestJson} from './http-json.js';
import {requesterHeader} from './peer-server.js';
import type {Outcome} from './retry-policy.js';
import {parseLoadReply, type LoadReply} from './wire.js';

/**
 * GetLoad. A download probes every holder at once and the answers age until the file
 * request reaches the chosen one, so the probe is kept as cheap as it can be.
 */
export async function getLoad(url: string, {timeoutMs = 1000} = {}): Promise<LoadReply> {
	let body: unknown;
	try {
		body = await requestJson(`${url}/load`, {timeoutMs, maxBytes: 64 * 1024, agent: freshConnections});
	} catch (error) {
		throw new PeerDownError(`no answer from ${url}: ${(error as Error).message}`, {cause: error});
	}

	return parseLoadReply(body);
}

export type {Outcome} from './retry-policy.js';

export class TransferError extends Error {
	readonly outcome: Exclude<Outcome, 'ok'>;

	constructor(outcome: Exclude<Outcome, 'ok'>, message: string, options?: {cause?: unknown}) {
		super(message, options);
		this.name = 'TransferError';
		this.outcome = outcome;
	}
}

export type ReceiveOptions = {
	url: string;
	name: string;
	requesterId: string;
	/** The file is written here; created exclusively. */
	tempPath: string;
	expectedSize: number;
	/** Allowed silence before the first byte (covers the emulated latency) and between bytes. */
	firstByteTimeoutMs: number;
	idleTimeoutMs: number;
	highWaterMark?: number;
	/** Shared secret of the network, sent as a bearer token. */
	secret?: string;
	onBytes?: (received: number) => void;
	signal?: AbortSignal;
};

/**
 * Streams a holder's file into `tempPath`, hashing as the bytes arrive (one pass).
 * Resolves with the md5 once every byte is written and fsynced; throws TransferError.
 */
export async function receiveFile(options: ReceiveOptions): Promise<{md5: string; size: number}> {
	const {url, name, requesterId, tempPath, expectedSize, firstByteTimeoutMs, idleTimeoutMs, highWaterMark = 256 * 1024, secret, onBytes, signal} = options;
	// Plain node:http on the data path: one less stream layer per chunk than a general-purpose client.
	const target = new URL(`/files/${encodeURIComponent(name)}`, url);
	const transport = target.protocol === 'https:' ? https : http;
	const controller = new AbortController();
	const abort = (reason: TransferError) => {
		controller.abort(reason);
	};

	const onOuterAbort = () => {
		abort(new TransferError('dropped', 'download cancelled'));
	};

	signal?.addEventListener('abort', onOuterAbort, {once: true});
	const watchdog = stallWatchdog(url, firstByteTimeoutMs, idleTimeoutMs, abort);

	try {
		const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
			const agent = target.protocol === 'https:' ? freshConnections.https : freshConnections.http;
			const request = transport.get(target, {headers: {[requesterHeader]: requesterId, ...bearer(secret)}, signal: controller.signal, agent}, resolve);
			request.once('error', error => {
				reject(controller.signal.aborted ? controller.signal.reason : classify(error, url));
			});
		});

		if (response.statusCode !== 200) {
			response.resume();
			throw response.statusCode === 404
				? new TransferError('not-found', `${url} does not have ${name}`)
				: new TransferError('refused', `${url} answered ${response.statusCode}${response.statusCode === 401 ? ' (wrong or missing --secret)' : ''}`);
		}

		const announced = Number(response.headers['content-length']);
		if (Number.isFinite(announced) && announced !== expectedSize) {
			response.destroy();
			throw new TransferError('checksum-mismatch', `${url} offers ${announced} bytes, the tracker says ${expectedSize}`);
		}

		watchdog.reset();
		// One stage hashes and writes each chunk as it arrives, then fsyncs before the stream finishes.
		const sink = new HashingFileSink(tempPath, {
			highWaterMark,
			onChunk(_chunk, received) {
				watchdog.reset();
				if (received > expectedSize) {
					return new TransferError('checksum-mismatch', `${url} sent more than ${expectedSize} bytes`);
				}

				onBytes?.(received);
				return undefined;
			},
		});
		try {
			await pipeline(response, sink, {signal: controller.signal});
		} catch (error) {
			throw controller.signal.aborted ? controller.signal.reason as Error : classify(error, url);
		}

		if (sink.bytes !== expectedSize) {
			throw new TransferError('dropped', `${url} sent ${sink.bytes} of ${expectedSize} bytes`);
		}

		return {md5: sink.md5, size: sink.bytes};
	} finally {
		watchdog.stop();
		signal?.removeEventListener('abort', onOuterAbort);
	}
}

export function classify(error: unknown, url: string): TransferError {
	if (error instanceof TransferError) {
		return error;
	}

	const code = (error as NodeJS.ErrnoException).code;
	if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
		return new TransferError('down', `${url} is down (${code})`, {cause: error});
	}

	return new TransferError('dropped', `${url} dropped the transfer (${code ?? (error as Error).message})`, {cause: error});
}

/**
 * Calls `abort` with a 'stalled' TransferError when a holder sends nothing: first within
 * `firstByteMs` (the emulated latency comes before it), then within `idleMs` of each `reset`.
 */
export function stallWatchdog(url: string, firstByteMs: number, idleMs: number, abort: (reason: TransferError) => void): {reset: () => void; stop: () => void} {
	let timer = setTimeout(() => {
		abort(new TransferError('stalled', `no data from ${url} within ${Math.round(firstByteMs)} ms`));
	}, firstByteMs);
	return {
		reset() {
			clearTimeout(timer);
			timer = setTimeout(() => {
				abort(new TransferError('stalled', `${url} sent nothing for ${Math.round(idleMs)} ms`));
			}, idleMs);
		},
		stop() {
			clearTimeout(timer);
		},
	};
}
