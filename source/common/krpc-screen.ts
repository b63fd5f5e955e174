/**
 * What a KRPC message (BEP 5, decoded bencode) must look like before the DHT engine sees it, and
 * a per-sender rate limit (pure). The engine trusts the shapes of fields it reads; a message that
 * is not what a DHT node would send is dropped here with the reason.
 */

const idLength = 20;
/** The queries xfs nodes send; BEP 44 get/put are not used by xfs, so nobody can store values here. */
const queries = new Set(['ping', 'find_node', 'get_peers', 'announce_peer']);

type Decoded = Record<string, unknown>;

const isBytes = (value: unknown, min = 1, max = 64): value is Uint8Array => value instanceof Uint8Array && value.length >= min && value.length <= max;
const isId = (value: unknown): value is Uint8Array => value instanceof Uint8Array && value.length === idLength;
const isDict = (value: unknown): value is Decoded => typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
const text = (value: Uint8Array) => Buffer.from(value).toString('latin1');

/** Undefined when the message may go on to the engine; otherwise why not. */
export function screenKrpc(message: unknown): string | undefined {
	if (!isDict(message)) {
		return 'not a dictionary';
	}

	// The engine reads a 2-byte transaction id from replies; ours are 2 bytes, others' at most 8.
	if (!isBytes(message.t, 1, 8)) {
		return 'bad transaction id';
	}

	if (!isBytes(message.y, 1, 1)) {
		return 'bad message type';
	}

	switch (text(message.y)) {
		case 'q': {
			return screenQuery(message);
		}

		case 'r': {
			return message.t.length === 2 ? screenReply(message.r) : 'bad transaction id';
		}

		case 'e': {
			return Array.isArray(message.e) && message.e.length <= 2 ? undefined : 'bad error';
		}

		default: {
			return 'bad message type';
		}
	}
}

function screenQuery(message: Decoded): string | undefined {
	if (!isBytes(message.q, 1, 16) || !queries.has(text(message.q))) {
		return 'unknown query';
	}

	const {a} = message;
	if (!isDict(a) || !isId(a.id)) {
		return 'bad query arguments';
	}

	switch (text(message.q)) {
		case 'find_node': {
			return isId(a.target) ? undefined : 'bad target';
		}

		case 'get_peers': {
			return isId(a.info_hash) ? undefined : 'bad info_hash';
		}

		case 'announce_peer': {
			if (!isId(a.info_hash) || !isBytes(a.token)) {
				return 'bad announce';
			}

			const {port, implied_port: implied} = a;
			const portOk = typeof port === 'number' && Number.isInteger(port) && port > 0 && port <= 65_535;
			return portOk || implied === 1 ? undefined : 'bad port';
		}

		default: {
			return undefined;
		}
	}
}

function screenReply(reply: unknown): string | undefined {
	if (!isDict(reply) || !isId(reply.id)) {
		return 'bad reply';
	}

	// Compact node info: 26 bytes per node; a reply carries at most k = 20 of them (some send 8 or 16).
	if (reply.nodes !== undefined && !(isBytes(reply.nodes, 0, 26 * 32) && reply.nodes.length % 26 === 0)) {
		return 'bad nodes';
	}

	if (reply.token !== undefined && !isBytes(reply.token)) {
		return 'bad token';
	}

	if (reply.values !== undefined && !(Array.isArray(reply.values) && reply.values.length <= 2000 && reply.values.every(value => isBytes(value, 6, 6)))) {
		return 'bad values';
	}

	return reply.v === undefined ? undefined : 'unexpected value';
}

export type RateOptions = {
	/** Messages per second one sender may send, on average. */
	perSecond: number;
	/** How many it may send at once. */
	burst: number;
	/** Senders remembered at once; the longest unheard is forgotten first. */
	maxSenders: number;
};

/** A token bucket per sender (host:port), in a bounded map: a flood from one sender is dropped, others go on. */
export class SenderRate {
	readonly #options: RateOptions;
	readonly #buckets = new Map<string, {tokens: number; at: number}>();

	constructor(options: RateOptions) {
		this.#options = options;
	}

	get senders(): number {
		return this.#buckets.size;
	}

	/** Whether one more message from `sender` at `now` (ms) is within its rate. */
	allow(sender: string, now: number): boolean {
		const {perSecond, burst, maxSenders} = this.#options;
		let bucket = this.#buckets.get(sender);
		if (bucket) {
			// Moved to the end: the map's first entry is the longest unheard.
			this.#buckets.delete(sender);
			bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) * perSecond / 1000));
			bucket.at = now;
		} else {
			bucket = {tokens: burst, at: now};
			if (this.#buckets.size >= maxSenders) {
				this.#buckets.delete(this.#buckets.keys().next().value!);
			}
		}

		this.#buckets.set(sender, bucket);
		if (bucket.tokens < 1) {
			return false;
		}

		bucket.tokens--;
		return true;
	}
}
