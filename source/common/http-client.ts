/**
 * The one HTTP client of both programs (every call a peer makes, the tracker's probes): got,
 * with the options every call shares (no redirects followed, no decompression, no cache, no
 * retry unless a call asks for one) and the network's credential put on every request by one
 * hook; JSON calls with a reply cap on top of it.
 */
import http from 'node:http';
import https from 'node:https';
import {got, type Agents, type BeforeRequestHook, type Got, HTTPError, ParseError, TimeoutError} from 'got';
import {type Identity, type Session, signRequest} from './signing.js';

/**
 * Agents that open a fresh connection per request, for calls to peers. A pooled keep-alive
 * socket whose other end went away during a network cut fails with a reset on reuse, which
 * would count a healthy peer as down. Without an agent, got uses Node's global (keep-alive) one.
 */
export const freshConnections = {http: new http.Agent({keepAlive: false}), https: new https.Agent({keepAlive: false})};

/** A call's own part of its signing: the session it speaks through, or a session offer its key signs. */
export type SigningContext = {session?: Session; offer?: string};

/**
 * Signs a request (method, path, time, body digest): a MAC with the network's secret, a signature
 * with the peer's key or its session's MAC; the one place a request is authorized. The secret
 * never goes on the wire.
 */
export function authorize(secret: string | undefined, identity?: Identity): BeforeRequestHook {
	return options => {
		const url = options.url instanceof URL ? options.url : new URL(String(options.url));
		const {body} = options;
		const {session, offer} = options.context as SigningContext;
		Object.assign(options.headers, signRequest({
			method: options.method,
			path: `${url.pathname}${url.search}`,
			body: typeof body === 'string' || body instanceof Uint8Array ? body : undefined,
			offer,
		}, {secret, identity, session}));
	};
}

const plain = got.extend({
	followRedirect: false,
	decompress: false,
	cache: undefined,
	http2: false,
	retry: {limit: 0},
});

const clients = new Map<string, Got>();

/** The client for a network with this secret (or none), signing as this identity (or not): every request it sends is authorized. */
export function httpClient(secret?: string, identity?: Identity): Got {
	const key = `${secret ?? ''}\u0000${identity?.publicKey ?? ''}`;
	let client = clients.get(key);
	if (!client) {
		client = plain.extend({hooks: {beforeRequest: [authorize(secret, identity)]}});
		clients.set(key, client);
	}

	return client;
}

/** A reply with a status other than 2xx; `body` is its text. */
export class HttpStatusError extends Error {
	readonly status: number;
	readonly body: string;

	constructor(status: number, body: string, options?: {cause?: unknown}) {
		super(`status ${status}`, options);
		this.name = 'HttpStatusError';
		this.status = status;
		this.body = body;
	}
}

export type JsonCall = {
	method?: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH';
	/** Sent as the body: JSON text, already serialized. */
	jsonText?: string;
	/** Each attempt's whole exchange, connecting included. */
	timeoutMs: number;
	/** Replies longer than this are refused. */
	maxBytes?: number;
	/** Defaults to Node's global (keep-alive) agent. */
	agent?: Agents;
	secret?: string;
	/** The peer's key pair: the request is signed with it. */
	identity?: Identity;
	/** Speaks through this session instead (its MAC in place of the key's signature), or offers one. */
	signing?: SigningContext;
	/**
	 * The wait before attempt `attempt + 1` after `error` (what the call would throw), or 0 for
	 * none; called before each wait. Without it the call is tried once.
	 */
	retryDelay?: (attempt: number, error: Error) => number;
	/** Cancels the call, a wait between attempts included. */
	signal?: AbortSignal;
};

/**
 * Sends one request (with retries if asked) and resolves with the reply's parsed JSON (an empty
 * body is `{}`). Rejects with HttpStatusError for a status other than 2xx, and with an Error
 * naming the reason for anything else: no connection, a timeout, a reply too large or not JSON.
 */
export async function requestJson(url: string | URL, call: JsonCall): Promise<unknown> {
	const {method = 'GET', jsonText, timeoutMs, maxBytes = Number.POSITIVE_INFINITY, agent, secret, identity, signing = {}, retryDelay, signal} = call;
	const tooLarge = new AbortController();
	const describe = (error: unknown) => callError(error, {timeoutMs, maxBytes, tooLarge: tooLarge.signal.aborted});
	const reply = httpClient(secret, identity)(url, {
		method,
		body: jsonText,
		headers: jsonText === undefined ? {} : {'content-type': 'application/json'},
		responseType: 'json',
		context: signing,
		parseJson: text => JSON.parse(text) as unknown,
		timeout: {request: timeoutMs},
		agent: agent ?? {},
		signal: signal ? AbortSignal.any([signal, tooLarge.signal]) : tooLarge.signal,
		retry: retryDelay
			? {limit: Number.POSITIVE_INFINITY, calculateDelay: ({attemptCount, error}) => retryDelay(attemptCount, describe(error))}
			: {limit: 0},
	});
	if (Number.isFinite(maxBytes)) {
		// The promise is awaited below; `on` returns it only for chaining.
		void reply.on('downloadProgress', ({transferred}: {transferred: number}) => {
			if (transferred > maxBytes) {
				tooLarge.abort();
			}
		});
	}

	let response;
	try {
		response = await reply;
	} catch (error) {
		throw describe(error);
	}

	// Redirects are not followed: a 3xx is a refusal like any status other than 2xx.
	if (response.statusCode < 200 || response.statusCode > 299) {
		throw new HttpStatusError(response.statusCode, response.rawBody.toString('utf8'));
	}

	return response.body === '' ? {} : response.body;
}

/** What a failed JSON call throws: HttpStatusError for a status, else an Error whose message is the reason. */
function callError(error: unknown, {timeoutMs, maxBytes, tooLarge}: {timeoutMs: number; maxBytes: number; tooLarge: boolean}): Error {
	if (tooLarge) {
		return new Error(`answer larger than ${maxBytes} bytes`, {cause: error});
	}

	if (error instanceof HTTPError) {
		return new HttpStatusError(error.response.statusCode, error.response.rawBody?.toString('utf8') ?? '', {cause: error});
	}

	if (error instanceof TimeoutError) {
		return new Error(`timed out after ${timeoutMs} ms`, {cause: error});
	}

	if (error instanceof ParseError) {
		return new Error('answer is not JSON', {cause: error});
	}

	return error instanceof Error ? error : new Error(String(error));
}
