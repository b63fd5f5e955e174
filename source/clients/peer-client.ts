/** Client side of the peer protocol: GetLoad, and receiving a file into a temp file while hashing it. */
import type {IncomingMessage} from 'node:http';
import https from 'node:https';
import net from 'node:net';
import {finished, pipeline} from 'node:stream/promises';
import {bearer} from '../common/auth.js';
import {PeerDownError} from '../common/errors.js';
import {HashingFileSink} from '../transfer/hashing-sink.js';
import type {Outcome} from '../core/retry-policy.js';
import {parseLoadReply, requesterHeader, type LoadReply} from '../common/wire.js';
import {requestJson} from './http-json.js';
import {freshConnections} from './fresh-connections.js';

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

export type {Outcome} from '../core/retry-policy.js';

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
	const {url, name, expectedSize, firstByteTimeoutMs, idleTimeoutMs, signal} = options;
	const target = new URL(`/files/${encodeURIComponent(name)}`, url);
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
		const received = target.protocol === 'http:'
			? await receiveOverSocket(options, target, controller.signal, watchdog)
			: await receiveOverHttps(options, target, controller.signal, watchdog);
		if (received.size !== expectedSize) {
			throw new TransferError('dropped', `${url} sent ${received.size} of ${expectedSize} bytes`);
		}

		return received;
	} finally {
		watchdog.stop();
		signal?.removeEventListener('abort', onOuterAbort);
	}
}

type Watchdog = ReturnType<typeof stallWatchdog>;

/** The TransferError for a reply that is not 200, or whose length is not the tracker's. */
function refusal(url: string, name: string, status: number, announced: number, expectedSize: number): TransferError | undefined {
	if (status !== 200) {
		return status === 404
			? new TransferError('not-found', `${url} does not have ${name}`)
			: new TransferError('refused', `${url} answered ${status}${status === 401 ? ' (wrong or missing --secret)' : ''}`);
	}

	return Number.isFinite(announced) && announced !== expectedSize
		? new TransferError('checksum-mismatch', `${url} offers ${announced} bytes, the tracker says ${expectedSize}`)
		: undefined;
}

/** An https peer: node:https, the reply piped into the sink. */
async function receiveOverHttps(options: ReceiveOptions, target: URL, signal: AbortSignal, watchdog: Watchdog): Promise<{md5: string; size: number}> {
	const {url, name, requesterId, tempPath, expectedSize, highWaterMark = 256 * 1024, secret, onBytes} = options;
	const response = await new Promise<IncomingMessage>((resolve, reject) => {
		const request = https.get(target, {headers: {[requesterHeader]: requesterId, ...bearer(secret)}, signal, agent: freshConnections.https}, resolve);
		request.once('error', error => {
			reject(signal.aborted ? signal.reason : classify(error, url));
		});
	});

	const refused = refusal(url, name, response.statusCode ?? 0, Number(response.headers['content-length']), expectedSize);
	if (refused) {
		response.destroy();
		throw refused;
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
		await pipeline(response, sink, {signal});
	} catch (error) {
		throw signal.aborted ? signal.reason as Error : classify(error, url);
	}

	return {md5: sink.md5, size: sink.bytes};
}

/** Largest reply head accepted before the body. */
const maxHeadBytes = 64 * 1024;

/**
 * A plain-http peer: one GET on a bare socket that reads into one reused buffer, whose
 * bytes are copied straight into the hashing ring. Node's HTTP client would allocate a
 * buffer per read and run each through its parser and two streams; for a file this is
 * about half the receiving thread's CPU. The reply is HTTP/1.1 with a Content-Length.
 */
async function receiveOverSocket(options: ReceiveOptions, target: URL, signal: AbortSignal, watchdog: Watchdog): Promise<{md5: string; size: number}> {
	const {url, name, requesterId, tempPath, expectedSize, highWaterMark = 256 * 1024, secret, onBytes} = options;
	const sink = new HashingFileSink(tempPath);
	const buffer = Buffer.allocUnsafe(Math.max(64 * 1024, highWaterMark));
	let head: Buffer | undefined = Buffer.alloc(0);
	let received = 0;
	let socket: net.Socket | undefined;
	let settle!: (error?: Error) => void;
	const done = new Promise<void>((resolve, reject) => {
		settle = error => {
			if (error) {
				reject(error);
			} else {
				resolve();
			}
		};
	});

	const fail = (error: unknown) => {
		socket?.destroy();
		settle(signal.aborted ? signal.reason as Error : classify(error, url));
	};

	/** Takes body bytes; false when the ring is full (the socket pauses until they are all in). */
	const takeBody = (bytes: Buffer): boolean => {
		if (received + bytes.length > expectedSize) {
			fail(new TransferError('checksum-mismatch', `${url} sent more than ${expectedSize} bytes`));
			return false;
		}

		watchdog.reset();
		const taken = sink.offer(bytes);
		received += taken;
		if (taken < bytes.length) {
			void offerRest(bytes.subarray(taken));
			return false;
		}

		onBytes?.(received);
		if (received === expectedSize) {
			settle();
			return false;
		}

		return true;
	};

	const offerRest = async (rest: Buffer) => {
		try {
			while (rest.length > 0) {
				await sink.room();
				const taken = sink.offer(rest);
				received += taken;
				rest = rest.subarray(taken);
			}
		} catch (error) {
			fail(error);
			return;
		}

		onBytes?.(received);
		if (received === expectedSize) {
			settle();
		} else {
			socket?.resume();
		}
	};

	const onRead = (length: number, bytes: Buffer): boolean => {
		try {
			if (head === undefined) {
				return takeBody(bytes.subarray(0, length));
			}

			head = Buffer.concat([head, bytes.subarray(0, length)]);
			const end = head.indexOf('\r\n\r\n');
			if (end === -1) {
				if (head.length > maxHeadBytes) {
					fail(new TransferError('dropped', `${url} sent a reply head over ${maxHeadBytes} bytes`));
					return false;
				}

				return true;
			}

			const lines = head.toString('latin1', 0, end).split('\r\n');
			const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)?.[1] ?? 0);
			const header = (wanted: string) => {
				const line = lines.find(candidate => candidate.slice(0, candidate.indexOf(':')).trim().toLowerCase() === wanted);
				return line?.slice(line.indexOf(':') + 1).trim();
			};

			const body = head.subarray(end + 4);
			head = undefined;
			if (header('transfer-encoding') !== undefined) {
				fail(new TransferError('dropped', `${url} sent a reply without a Content-Length`));
				return false;
			}

			const refused = refusal(url, name, status, Number(header('content-length') ?? Number.NaN), expectedSize);
			if (refused) {
				fail(refused);
				return false;
			}

			watchdog.reset();
			if (expectedSize === 0) {
				settle();
				return false;
			}

			// `head` was copied out of the read buffer, so the body's first bytes may wait in it.
			return body.length === 0 || takeBody(body);
		} catch (error) {
			fail(error);
			return false;
		}
	};

	const onAbort = () => {
		fail(signal.reason);
	};

	signal.addEventListener('abort', onAbort, {once: true});
	try {
		await sink.opened();
		const hostname = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
		const request = [
			`GET ${target.pathname}${target.search} HTTP/1.1`,
			`Host: ${target.host}`,
			`${requesterHeader}: ${requesterId}`,
			...Object.entries(bearer(secret)).map(([key, value]) => `${key}: ${value}`),
			'Connection: close',
		];
		if (request.some(line => /[\r\n]/.test(line))) {
			throw new TransferError('refused', `a request header for ${url} holds a line break`);
		}

		socket = net.connect({host: hostname, port: Number(target.port || 80), onread: {buffer, callback: onRead}});
		socket.once('connect', () => {
			socket!.write(`${request.join('\r\n')}\r\n\r\n`);
		});
		socket.on('error', fail);
		socket.once('end', () => {
			fail(new TransferError('dropped', `${url} closed the connection after ${received} of ${expectedSize} bytes`));
		});
		if (signal.aborted) {
			onAbort();
		}

		await done;
		socket.destroy();
		sink.end();
		await finished(sink);
		return {md5: sink.md5, size: received};
	} catch (error) {
		socket?.destroy();
		sink.destroy();
		await finished(sink).catch(() => {});
		throw error instanceof TransferError ? error : (signal.aborted ? signal.reason as Error : classify(error, url));
	} finally {
		signal.removeEventListener('abort', onAbort);
	}
}

export function classify(error: unknown, url: string): TransferError {
	if (error instanceof TransferError) {
		return error;
	}

	const {code} = error as NodeJS.ErrnoException;
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
