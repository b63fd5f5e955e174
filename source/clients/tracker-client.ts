/** HTTP client of the tracker protocol; every failure becomes an XfsError with a stable code. */
import {type ErrorCode, TrackerDownError, XfsError} from '../common/errors.js';
import {HttpStatusError, requestJson} from '../common/http-client.js';
import {completeSession, createSessionOffer, type Identity, type Session} from '../common/signing.js';
import {SharedList} from '../share/shared-list.js';
import {
	parseFilesReply, parseFindReply, parseHealthReply, parseHeartbeatReply, parseListUpdateReply, parseObject, parsePartialReply, parsePeersReply, parseUpdateListReply,
	type FileEntry, type FileSummary, type FindReply, type HealthReply, type HeartbeatReply, type ListUpdateBody, type ListUpdateReply, type PartialEntry, type PartialReply, type PeerSummary, type UpdateListReply,
} from '../common/wire.js';

const knownCodes = new Set<ErrorCode>(['NOT_FOUND', 'BAD_INPUT', 'ID_IN_USE', 'TOO_LARGE', 'UNAUTHORIZED', 'VERSION_MISMATCH', 'NAME_CONFLICT']);

/**
 * How a call waits for a tracker that is down: `delay` gives the wait before attempt
 * `attempt + 1` (0 to give up) and is called before each wait; `signal` ends the call and any wait.
 */
export type TrackerRetry = {
	delay: (attempt: number, error: TrackerDownError) => number;
	signal?: AbortSignal;
};

export class TrackerClient {
	readonly url: string;
	readonly #timeoutMs: number;
	readonly #secret: string | undefined;
	/** The peer's key pair: every request is signed with it (set once the share dir's key is loaded). */
	identity: Identity | undefined;
	/**
	 * The session the last registration set up: later requests carry its MAC, not a signature. Each
	 * UpdateList without one offers one; a request the tracker no longer knows it for (a restart)
	 * is sent once more signed by the key.
	 */
	#session: Session | undefined;

	constructor(url: string, {timeoutMs = 3000, secret, identity}: {timeoutMs?: number; secret?: string; identity?: Identity} = {}) {
		this.url = url.replace(/\/+$/, '');
		this.#timeoutMs = timeoutMs;
		this.#secret = secret;
		this.identity = identity;
	}

	/**
	 * UpdateList: the whole list, at `version` (incremental updates go on from it). A SharedList
	 * or JSON text goes as it is, without serializing its entries again.
	 */
	async updateList(id: string, url: string, files: readonly FileEntry[] | SharedList | {json: string}, {version, retry}: {version?: number; retry?: TrackerRetry} = {}): Promise<UpdateListReply> {
		const json = 'json' in files ? files.json : SharedList.of(files).json;
		const versionField = version === undefined ? '' : `,"version":${version}`;
		return parseUpdateListReply(await this.#request('PUT', `/peers/${encodeURIComponent(id)}`, `{"url":${JSON.stringify(url)}${versionField},"files":${json}}`, retry, id));
	}

	/** An incremental update from the version the tracker holds; VERSION_MISMATCH asks for the whole list. */
	async updateFiles(id: string, update: ListUpdateBody): Promise<ListUpdateReply> {
		return parseListUpdateReply(await this.#request('PATCH', `/peers/${encodeURIComponent(id)}/files`, JSON.stringify(update)));
	}

	/** Swarm: every file this peer is downloading by parts, with how many parts it has (replaces the last such list). */
	async setPartial(id: string, files: readonly PartialEntry[]): Promise<PartialReply> {
		return parsePartialReply(await this.#request('PUT', `/peers/${encodeURIComponent(id)}/partial`, JSON.stringify({files})));
	}

	async health(): Promise<HealthReply> {
		return parseHealthReply(await this.#request('GET', '/health'));
	}

	async heartbeat(id: string): Promise<HeartbeatReply> {
		return parseHeartbeatReply(await this.#request('POST', `/peers/${encodeURIComponent(id)}/heartbeat`));
	}

	async leave(id: string): Promise<void> {
		await this.#request('DELETE', `/peers/${encodeURIComponent(id)}`);
	}

	/** Find: the holders of the owner's latest version of the name, or with `md5` of exactly that content. */
	async find(name: string, retry?: TrackerRetry, md5?: string): Promise<FindReply> {
		const query = md5 === undefined ? '' : `?md5=${md5}`;
		return parseFindReply(await this.#request('GET', `/files/${encodeURIComponent(name)}${query}`, undefined, retry));
	}

	async files(retry?: TrackerRetry): Promise<FileSummary[]> {
		return parseFilesReply(await this.#request('GET', '/files', undefined, retry)).files;
	}

	async peers(retry?: TrackerRetry): Promise<PeerSummary[]> {
		return parsePeersReply(await this.#request('GET', '/peers', undefined, retry)).peers;
	}

	async suspect(id: string): Promise<void> {
		await this.#request('POST', `/peers/${encodeURIComponent(id)}/suspect`);
	}

	/** `offerFor`: the machID a session is offered for when there is none (an UpdateList). */
	async #request(method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH', path: string, jsonText?: string, retry?: TrackerRetry, offerFor?: string): Promise<unknown> {
		const writes = method !== 'GET';
		for (let attempt = 0; ; attempt++) {
			const session = writes ? this.#session : undefined;
			const offer = writes && offerFor !== undefined && !session && this.identity ? createSessionOffer() : undefined;
			try {
				const reply = await this.#send(method, path, {signing: {session, offer: offer?.publicKey}, jsonText, retry});
				const answered = offer && (reply as {session?: unknown}).session;
				if (answered) {
					this.#session = completeSession(offer, parseUpdateListReply(reply).session!, offerFor!);
				}

				return reply;
			} catch (error) {
				if (session && attempt === 0 && error instanceof XfsError && error.code === 'UNAUTHORIZED') {
					// The tracker does not know the session (it restarted, or this peer expired there): once more, signed by the key.
					if (this.#session === session) {
						this.#session = undefined;
					}

					continue;
				}

				throw error;
			}
		}
	}

	async #send(method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH', path: string, {signing, jsonText, retry}: {signing: {session?: Session; offer?: string}; jsonText?: string; retry?: TrackerRetry}): Promise<unknown> {
		const what = `${method} ${path}`;
		try {
			return await requestJson(`${this.url}${path}`, {
				method,
				jsonText,
				secret: this.#secret,
				identity: this.identity,
				signing,
				timeoutMs: this.#timeoutMs,
				signal: retry?.signal,
				retryDelay: retry && ((attempt, error) => {
					const failure = trackerError(error, what);
					return failure instanceof TrackerDownError ? retry.delay(attempt, failure) : 0;
				}),
			});
		} catch (error) {
			throw trackerError(error, what);
		}
	}
}

function trackerError(error: unknown, what: string): XfsError {
	if (error instanceof HttpStatusError && error.status < 500) {
		let body: {code?: unknown; message?: unknown} = {};
		try {
			body = parseObject(parseObject(JSON.parse(error.body), 'reply').error, 'reply.error');
		} catch {}

		const code = knownCodes.has(body.code as ErrorCode) ? body.code as ErrorCode : 'BAD_INPUT';
		const message = typeof body.message === 'string' ? body.message : `tracker answered ${error.status} to ${what}`;
		return new XfsError(code, message, {cause: error});
	}

	if (error instanceof XfsError) {
		return error;
	}

	const reason = error instanceof Error ? error.message : String(error);
	return new TrackerDownError(`tracker unreachable (${what}): ${reason}`, {cause: error});
}
