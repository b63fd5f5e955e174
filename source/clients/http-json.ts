/**
 * The one JSON-over-HTTP client both programs use (tracker calls, GetLoad, parts lists): plain
 * node:http, which the servers load anyway, so a program starts without a general-purpose client.
 */
import http from 'node:http';
import https from 'node:https';

/** A reply with a status other than 2xx; `body` is its text (at most `maxBytes` of it). */
export class HttpStatusError extends Error {
	readonly status: number;
	readonly body: string;

	constructor(status: number, body: string) {
		super(`status ${status}`);
		this.name = 'HttpStatusError';
		this.status = status;
		this.body = body;
	}
}

export type JsonRequest = {
	method?: string;
	/** Sent as the body: JSON text, already serialized. */
	jsonText?: string;
	headers?: Record<string, string>;
	/** The whole exchange, connecting included. */
	timeoutMs: number;
	/** Replies longer than this are refused. */
	maxBytes?: number;
	/** Defaults to Node's global agent. */
	agent?: {http: http.Agent; https: https.Agent};
};

/**
 * Sends one request and resolves with the reply's parsed JSON (an empty body is `{}`).
 * Rejects with HttpStatusError for a non-2xx status, and with a plain Error naming the
 * reason for anything else: no connection, a timeout, a reply too large or not JSON.
 */
export async function requestJson(url: string | URL, request: JsonRequest): Promise<unknown> {
	const {method = 'GET', jsonText, headers = {}, timeoutMs, maxBytes = Number.POSITIVE_INFINITY, agent} = request;
	const target = typeof url === 'string' ? new URL(url) : url;
	const secure = target.protocol === 'https:';
	const payload = jsonText === undefined ? undefined : Buffer.from(jsonText);
	const signal = AbortSignal.timeout(timeoutMs);
	return new Promise((resolve, reject) => {
		let settled = false;
		const fail = (error: Error) => {
			if (!settled) {
				settled = true;
				outgoing.destroy();
				reject(signal.aborted ? new Error(`timed out after ${timeoutMs} ms`) : error);
			}
		};

		const outgoing = (secure ? https : http).request(target, {
			method,
			signal,
			agent: agent ? (secure ? agent.https : agent.http) : undefined,
			headers: {
				accept: 'application/json',
				...(payload ? {'content-type': 'application/json', 'content-length': String(payload.length)} : {}),
				...headers,
			},
		}, response => {
			const chunks: Buffer[] = [];
			let bytes = 0;
			response.on('data', (chunk: Buffer) => {
				bytes += chunk.length;
				if (bytes > maxBytes) {
					fail(new Error(`answer larger than ${maxBytes} bytes`));
					return;
				}

				chunks.push(chunk);
			});
			response.once('error', fail);
			response.once('end', () => {
				if (settled) {
					return;
				}

				const text = Buffer.concat(chunks).toString('utf8');
				const status = response.statusCode ?? 0;
				if (status < 200 || status > 299) {
					settled = true;
					reject(new HttpStatusError(status, text));
					return;
				}

				let body: unknown;
				try {
					body = text === '' ? {} : JSON.parse(text);
				} catch {
					fail(new Error('answer is not JSON'));
					return;
				}

				settled = true;
				resolve(body);
			});
		});
		outgoing.once('error', fail);
		outgoing.end(payload);
	});
}
