/** Client side of multi-source downloads: a holder's parts list, and one part fetched with a Range request into memory. */
import type {Agents, Request} from 'got';
import {PeerDownError} from '../common/errors.js';
import {freshConnections, requestJson} from '../common/http-client.js';
import type {ByteSpan} from '../core/part-geometry.js';
import {parsePartsReply, suggestHeader, type PartsReply} from '../common/wire.js';
import {requestFile, responseOf, statusError, transferError, TransferError} from './peer-client.js';

/**
 * A holder's parts list. With `after` (swarm), a peer still downloading the file answers once it
 * has more than that many parts, or after `waitMs`: a downloader learns of each new part as it lands.
 */
export async function getPartsList(url: string, name: string, {timeoutMs, secret, after, waitMs = 0, signal, agent = freshConnections}: {timeoutMs: number; secret?: string; after?: number; waitMs?: number; signal?: AbortSignal; agent?: Agents}): Promise<PartsReply> {
	let body: unknown;
	const query = after === undefined ? '' : `?after=${after}&wait=${waitMs}`;
	try {
		body = await requestJson(`${url}/files/${encodeURIComponent(name)}/parts${query}`, {secret, timeoutMs: timeoutMs + waitMs, agent, signal});
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
	/** One keep-alive connection per holder (maxSockets 1): one upload at a time on each. */
	agent: Agents;
	/** Shared secret of the network. */
	secret?: string;
	/** Where the bytes go (the span's length); its filled prefix is readable while the part arrives. */
	into?: Buffer;
	signal?: AbortSignal;
	onBytes?: (received: number) => void;
	/** Swarm: the parts a holder of the whole file suggests asking it for next (super-seeding), as sent with this part. */
	onSuggest?: (parts: number[]) => void;
};

/** The parts named in a suggestion header: at most 16 indexes, anything malformed ignored. */
export function parseSuggestion(value: unknown): number[] {
	if (typeof value !== 'string' || value.length > 200) {
		return [];
	}

	return value.split(',').slice(0, 16).map(Number).filter(index => Number.isSafeInteger(index) && index >= 0);
}

/** Fetches `span` of a holder's file; resolves with exactly those bytes, or throws TransferError. */
export async function fetchPart(request: PartRequest): Promise<Buffer> {
	const {url, name, span, fileSize, into, signal, onBytes} = request;
	const length = span.end - span.start;
	const notNeeded = () => new TransferError('dropped', 'part no longer needed');
	if (signal?.aborted) {
		throw notNeeded();
	}

	const part = into ?? Buffer.allocUnsafe(length);
	if (part.length !== length) {
		throw new RangeError(`a buffer of ${part.length} bytes for a span of ${length}`);
	}

	const stalls = {firstByteMs: request.firstByteTimeoutMs, idleMs: request.idleTimeoutMs};
	let stream: Request | undefined;
	try {
		stream = requestFile({...request, stalls, range: `bytes=${span.start}-${span.end - 1}`});
		const response = await responseOf(stream);
		if (response.statusCode !== 206) {
			throw statusError(url, name, response.statusCode, ' to a range request');
		}

		const expectedRange = `bytes ${span.start}-${span.end - 1}/${fileSize}`;
		if (response.headers['content-range'] !== expectedRange) {
			throw new TransferError('checksum-mismatch', `${url} sent ${response.headers['content-range'] ?? 'no Content-Range'}, expected ${expectedRange}`);
		}

		if (request.onSuggest && response.headers[suggestHeader] !== undefined) {
			request.onSuggest(parseSuggestion(response.headers[suggestHeader]));
		}

		const received = await new Promise<number>((resolve, reject) => {
			let bytes = 0;
			stream!.on('data', (chunk: Buffer) => {
				if (bytes + chunk.length > length) {
					reject(new TransferError('checksum-mismatch', `${url} sent more than the ${length} bytes asked for`));
					stream!.destroy();
					return;
				}

				chunk.copy(part, bytes);
				bytes += chunk.length;
				onBytes?.(bytes);
			});
			stream!.once('end', () => {
				resolve(bytes);
			});
			stream!.once('error', reject);
		});
		if (received !== length) {
			throw new TransferError('dropped', `${url} sent ${received} of ${length} bytes`);
		}

		return part;
	} catch (error) {
		stream?.destroy();
		throw signal?.aborted ? notNeeded() : transferError(error, url, stalls);
	}
}
