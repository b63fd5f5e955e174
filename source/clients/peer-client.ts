/** Client side of the peer protocol: GetLoad, and receiving a file into a temp file while hashing it. */
import {finished, pipeline} from 'node:stream/promises';
import {type Agents, TimeoutError, type Request, type Response} from 'got';
import {localFault, NotFoundError, PeerDownError} from '../common/errors.js';
import {HashingFileSink} from '../transfer/hashing-sink.js';
import {freshConnections, httpClient, HttpStatusError, requestJson} from '../common/http-client.js';
import type {Outcome} from '../core/retry-policy.js';
import {parseLoadReply, parsePeerFileInfo, parsePeerFilesList, requesterHeader, type LoadReply, type PeerFileInfo, type PeerFilesList} from '../common/wire.js';

/**
 * GetLoad. A download probes every holder at once and the answers age until the file
 * request reaches the chosen one, so the probe is kept as cheap as it can be.
 */
export async function getLoad(url: string, {timeoutMs = 1000, secret}: {timeoutMs?: number; secret?: string} = {}): Promise<LoadReply> {
	let body: unknown;
	try {
		body = await requestJson(`${url}/load`, {timeoutMs, maxBytes: 64 * 1024, agent: freshConnections, secret});
	} catch (error) {
		throw new PeerDownError(`no answer from ${url}: ${(error as Error).message}`, {cause: error});
	}

	return parseLoadReply(body);
}

/** What a peer lists for one name (GET /files/:name/info): its machID, md5 and size. NOT_FOUND when it does not list it. */
export async function fileInfo(url: string, name: string, {timeoutMs = 1000, secret}: {timeoutMs?: number; secret?: string} = {}): Promise<PeerFileInfo> {
	let body: unknown;
	try {
		body = await requestJson(`${url}/files/${encodeURIComponent(name)}/info`, {timeoutMs, maxBytes: 64 * 1024, agent: freshConnections, secret});
	} catch (error) {
		if (error instanceof HttpStatusError && error.status === 404) {
			throw new NotFoundError(`${url} does not list ${name}`, {cause: error});
		}

		throw new PeerDownError(`no answer from ${url}: ${(error as Error).message}`, {cause: error});
	}

	return parsePeerFileInfo(body);
}

/** A peer's own list (GET /files on the peer). */
export async function peerFiles(url: string, {timeoutMs = 3000, secret}: {timeoutMs?: number; secret?: string} = {}): Promise<PeerFilesList> {
	let body: unknown;
	try {
		body = await requestJson(`${url}/files`, {timeoutMs, maxBytes: 32 * 1024 * 1024, agent: freshConnections, secret});
	} catch (error) {
		throw new PeerDownError(`no answer from ${url}: ${(error as Error).message}`, {cause: error});
	}

	return parsePeerFilesList(body);
}

/** Tells a holder that its bytes of `name` did not match the md5 it lists, so it hashes the file again (best effort). */
export async function reportMismatch(url: string, name: string, {secret}: {secret?: string} = {}): Promise<void> {
	await requestJson(`${url}/files/${encodeURIComponent(name)}/verify`, {method: 'POST', timeoutMs: 2000, maxBytes: 64 * 1024, agent: freshConnections, secret});
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
	/** Shared secret of the network. */
	secret?: string;
	onBytes?: (received: number) => void;
	signal?: AbortSignal;
};

/**
 * Streams a holder's file into `tempPath`, hashing as the bytes arrive (one pass): the reply
 * is piped straight into the hashing sink, which copies each chunk into the hashing thread's ring.
 * Resolves with the md5 once every byte is written and fsynced; throws TransferError.
 */
export async function receiveFile(options: ReceiveOptions): Promise<{md5: string; size: number}> {
	const {url, name, expectedSize, highWaterMark, onBytes, signal} = options;
	const cancelled = () => new TransferError('dropped', 'download cancelled');
	if (signal?.aborted) {
		throw cancelled();
	}

	const sink = new HashingFileSink(options.tempPath, {
		highWaterMark,
		onChunk(_chunk, received) {
			if (received > expectedSize) {
				return new TransferError('checksum-mismatch', `${url} sent more than ${expectedSize} bytes`);
			}

			onBytes?.(received);
			return undefined;
		},
	});
	// A sink that fails to open rejects opened() below; its error event has no other listener then.
	// The sink's own failure is this peer's disk (no space, read-only, the dir gone), never the holder's.
	let sinkError: unknown;
	sink.once('error', error => {
		sinkError = error;
	});
	const stalls: StallTimeouts = {firstByteMs: options.firstByteTimeoutMs, idleMs: options.idleTimeoutMs};
	let download: Request | undefined;
	try {
		// The request goes out once the file is open and a hashing thread is ready: the first bytes never wait for a thread to load.
		await sink.opened().catch((error: unknown) => {
			sinkError ??= error;
			throw error;
		});
		download = requestFile({...options, stalls, agent: freshConnections});
		const response = await responseOf(download);
		const refused = refusal(url, name, response, expectedSize);
		if (refused) {
			throw refused;
		}

		await pipeline(download, sink);
	} catch (error) {
		download?.destroy();
		sink.destroy();
		// The hashing thread lets go of the file before the caller removes it.
		await finished(sink).catch(() => {});
		if (signal?.aborted) {
			throw cancelled();
		}

		throw localFault(sinkError, options.tempPath, 'write') ?? transferError(error, url, stalls);
	}

	if (sink.bytes !== expectedSize) {
		throw new TransferError('dropped', `${url} sent ${sink.bytes} of ${expectedSize} bytes`);
	}

	return {md5: sink.md5, size: sink.bytes};
}

/** Silence allowed before the reply's head (covers the emulated latency), and between bytes. */
export type StallTimeouts = {firstByteMs: number; idleMs: number};

export type FileRequest = {
	url: string;
	name: string;
	requesterId: string;
	stalls: StallTimeouts;
	agent: Agents;
	secret?: string;
	/** A `Range` header's value, for a part. */
	range?: string;
	signal?: AbortSignal;
};

/**
 * GET of a holder's file as a stream: no retry (the download engine picks the next holder),
 * every status handed back to the caller. The stall watchdog is got's phase timeouts: the
 * connection and then the reply's head within `firstByteMs` each, and never `idleMs` of silence.
 */
export function requestFile({url, name, requesterId, stalls, agent, secret, range, signal}: FileRequest): Request {
	return httpClient(secret).stream(new URL(`/files/${encodeURIComponent(name)}`, url), {
		headers: {[requesterHeader]: requesterId, ...(range ? {range} : {})},
		agent,
		throwHttpErrors: false,
		timeout: {connect: stalls.firstByteMs, response: stalls.firstByteMs, socket: stalls.idleMs},
		signal,
	});
}

/** Resolves with the reply's head, or rejects with the request's error. */
export async function responseOf(request: Request): Promise<Response> {
	return new Promise((resolve, reject) => {
		const onError = (error: Error) => {
			request.off('response', onResponse);
			reject(error);
		};

		const onResponse = (response: Response) => {
			request.off('error', onError);
			resolve(response);
		};

		request.once('error', onError);
		request.once('response', onResponse);
	});
}

/** The TransferError for a reply that is not 200 with the tracker's length, or that comes in chunks. */
function refusal(url: string, name: string, response: Response, expectedSize: number): TransferError | undefined {
	const status = response.statusCode;
	if (status !== 200) {
		return statusError(url, name, status);
	}

	if (response.headers['transfer-encoding'] !== undefined) {
		return new TransferError('dropped', `${url} sent a reply without a Content-Length`);
	}

	const announced = Number(response.headers['content-length'] ?? Number.NaN);
	return Number.isFinite(announced) && announced !== expectedSize
		? new TransferError('checksum-mismatch', `${url} offers ${announced} bytes, the tracker says ${expectedSize}`)
		: undefined;
}

/** The TransferError for a status other than the one asked for: not there, busy (every upload slot taken), or refused. */
export function statusError(url: string, name: string, status: number, what = ''): TransferError {
	if (status === 404) {
		return new TransferError('not-found', `${url} does not have ${name}`);
	}

	if (status === 503) {
		return new TransferError('busy', `${url} is busy: every upload slot is taken`);
	}

	return new TransferError('refused', `${url} answered ${status}${what}${status === 401 ? ' (wrong or missing --secret)' : ''}`);
}

/** A failed transfer's outcome: a TransferError as it is, a timeout as a stall, a refused connection as down, anything else as dropped. */
export function transferError(error: unknown, url: string, stalls: StallTimeouts): TransferError {
	if (error instanceof TransferError) {
		return error;
	}

	if (error instanceof TimeoutError) {
		return error.event === 'socket'
			? new TransferError('stalled', `${url} sent nothing for ${Math.round(stalls.idleMs)} ms`, {cause: error})
			: new TransferError('stalled', `no data from ${url} within ${Math.round(stalls.firstByteMs)} ms`, {cause: error});
	}

	const {code} = (error as NodeJS.ErrnoException);
	if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
		return new TransferError('down', `${url} is down (${code})`, {cause: error});
	}

	return new TransferError('dropped', `${url} dropped the transfer (${code ?? (error as Error).message})`, {cause: error});
}

/** POST /replicas: asks a placement peer to keep (or, with `unpin`, stop keeping) a pinned copy. */
export type ReplicaRequest = {name: string; md5: string; size: number; r: number; owner?: string; unpin?: true; via?: string};
/** `accepted`: it holds a verified copy or is fetching one; otherwise `reason` says why not (no space, another file of that name). */
export type ReplicaReply = {accepted: boolean; state?: 'have' | 'fetching' | 'unpinned'; reason?: string};

export async function askReplica(url: string, request: ReplicaRequest, {secret, requesterId}: {secret?: string; requesterId: string}): Promise<ReplicaReply> {
	let body: unknown;
	try {
		body = await requestJson(`${url}/replicas`, {
			method: 'POST', jsonText: JSON.stringify({...request, from: requesterId}), timeoutMs: 3000, maxBytes: 16 * 1024, agent: freshConnections, secret,
		});
	} catch (error) {
		throw new PeerDownError(`no answer from ${url} to POST /replicas: ${(error as Error).message}`, {cause: error});
	}

	const reply = body as Partial<ReplicaReply>;
	return {accepted: reply.accepted === true, state: reply.state, reason: typeof reply.reason === 'string' ? reply.reason.slice(0, 200) : undefined};
}
