/**
 * One Kademlia DHT node (bittorrent-dht, BEP 5, UDP) as peers and the tracker run it: a private
 * bootstrap list (never the public routers), every incoming packet screened and rate-limited
 * before the engine sees it, bounded tables, and the routing table kept in a file so a restarted
 * node rejoins without its bootstrap node.
 */
import {createSocket} from 'node:dgram';
import {once} from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import bencode from 'bencode';
import DHT, {type DhtContact} from 'bittorrent-dht';
import {screenKrpc, SenderRate} from './krpc-screen.js';

export {nameKey, nodeIdOf, peerKey, rosterKey} from './dht-keys.js';

export type {DhtContact} from 'bittorrent-dht';

export type DhtNodeOptions = {
	/** Sha1 of the machID; random when not given (the tracker). */
	nodeId?: Buffer;
	port: number;
	host: string;
	/** Host:port of nodes to join through; empty for a network's first node. */
	bootstrap: readonly string[];
	/** Where the routing table is kept between runs. */
	stateFile?: string;
	/** How long this node keeps an announce it stores (the record lifetime). */
	recordTtlMs: number;
	/** How long a query waits for its reply (1 s: the engine's 2 s is for the open Internet; a dead node costs this much per lookup). */
	queryTimeoutMs?: number;
	/** How long start waits for the first lookup of its own id (joining). */
	joinWaitMs?: number;
	log?: (message: string) => void;
};

/** Bounds on what others can make this node hold or do. */
export const dhtLimits = {
	/** Announces stored for others, all keys together (bittorrent-dht's maxPeers). */
	maxStoredPeers: 10_000,
	/** Lookup tables kept for announces (maxTables, 5 minutes each). */
	maxTables: 1000,
	/** BEP 44 values: xfs does not use them and the screen drops put/get (maxValues). */
	maxValues: 1,
	/** Routing-table entries saved and read back. */
	maxSavedNodes: 200,
	/** Per sender (host:port): messages per second on average, at once, and senders remembered. */
	rate: {perSecond: 100, burst: 400, maxSenders: 4096},
	/** Nodes in a find_node or get_peers reply: Kademlia's k closest (the engine would send its whole routing table). */
	nodesPerReply: 20,
	/** Announced peers in a get_peers reply, picked at random among those stored (about 1 KB of values). */
	valuesPerReply: 100,
	/** Nodes whose query timed out, remembered (not asked again) until they are heard from or this long has passed. */
	unanswered: {forgetMs: 30_000, max: 4096},
};

export type LookupOptions = {
	/** The longest a lookup is waited for (5 s). */
	timeoutMs?: number;
	/** Whether to answer once announces came in and every query still out is slow, before the lookup ends. */
	early?: boolean;
	/** How long a query must have been out to count as slow for an early answer (250 ms). */
	slowMs?: number;
	/** Each new contact, as it comes in. */
	onPeer?: (contact: DhtContact) => void;
};

export type DhtStats = {sent: number; received: number; dropped: number; rateLimited: number; skipped: number};

export class DhtNode {
	readonly #dht: DHT;
	readonly #options: DhtNodeOptions;
	readonly #stats: DhtStats = {sent: 0, received: 0, dropped: 0, rateLimited: 0, skipped: 0};
	/** Host:port → when a query to it last timed out (a node killed, or gone): see #skipUnanswered. */
	readonly #unanswered = new Map<string, number>();
	/** Queries out now, by a running count: when each was sent (performance.now()). */
	readonly #outstanding = new Map<number, number>();
	#querySeq = 0;
	#saveTimer: NodeJS.Timeout | undefined;
	#stopped = false;

	private constructor(dht: DHT, options: DhtNodeOptions) {
		this.#dht = dht;
		this.#options = options;
	}

	static async start(options: DhtNodeOptions): Promise<DhtNode> {
		const saved = options.stateFile ? await readSavedNodes(options.stateFile) : [];
		const bootstrap = [...new Set([...options.bootstrap, ...saved])];
		const socket = createSocket('udp4');
		const dht = new DHT({
			nodeId: options.nodeId,
			// Never undefined: that would mean the public BitTorrent routers.
			bootstrap,
			host: false,
			socket,
			timeout: options.queryTimeoutMs ?? 1000,
			maxTables: dhtLimits.maxTables,
			maxValues: dhtLimits.maxValues,
			maxPeers: dhtLimits.maxStoredPeers,
			maxAge: options.recordTtlMs,
		});
		const node = new DhtNode(dht, options);
		answerLikeKademlia(dht);
		node.#skipUnanswered(dht);
		node.#guard(socket);
		dht.on('warning', () => {});
		dht.on('error', error => options.log?.(`DHT: ${error.message}`));
		const ready = once(dht, 'ready');
		const listening = once(dht, 'listening');
		const failed = once(socket, 'error').then(([error]) => {
			throw error as Error;
		});
		dht.listen(options.port, options.host);
		try {
			await Promise.race([listening, failed]);
		} catch (error) {
			dht.destroy();
			throw error;
		}

		// Joining: a lookup of the node's own id through the bootstrap nodes; a dead one costs one query timeout.
		await Promise.race([ready, new Promise(resolve => {
			setTimeout(resolve, options.joinWaitMs ?? 3000).unref();
		})]);
		if (options.stateFile) {
			void node.save();
			node.#saveTimer = setInterval(() => {
				void node.save();
			}, 30_000).unref();
		}

		return node;
	}

	/** Host:port this node listens at (UDP). */
	get address(): string {
		const {address, port} = this.#dht.address();
		return `${address}:${port}`;
	}

	get nodeId(): Buffer {
		return Buffer.from(this.#dht.nodeId);
	}

	/** Nodes in the routing table. */
	get knownNodes(): number {
		return this.#dht.nodes.toArray().length;
	}

	get stats(): Readonly<DhtStats> {
		return this.#stats;
	}

	/** Announces that this node's host holds `key` at HTTP `port` to the k nodes closest to it; resolves with whether any took it. */
	async announce(key: Buffer, port: number): Promise<boolean> {
		if (this.#stopped) {
			return false;
		}

		// A fresh lookup first: the engine would reuse the closest nodes it met up to 5 minutes ago, dead ones and none alike.
		return new Promise(resolve => {
			this.#dht.lookup(key, () => {
				if (this.#stopped) {
					resolve(false);
					return;
				}

				this.#dht.announce(key, port, error => {
					resolve(!error);
				});
			});
		});
	}

	/**
	 * The host:port pairs announced under `key` that the lookup met (deduplicated), each also given
	 * to `onPeer` as it comes in. Resolves when the lookup has asked the k closest nodes, or within
	 * `timeoutMs`; with `early`, sooner: once announces came in and every query this node still has
	 * out has been out `slowMs` or more. Those are nodes that died since others last saw them (a
	 * query timeout each); a node among the k closest stores every announce of the key, so those
	 * that answered named (nearly) all holders. An early answer leaves the lookup to finish in the
	 * background (it drops the dead from the table).
	 */
	async lookup(key: Buffer, {timeoutMs = 5000, early = false, slowMs = 250, onPeer}: LookupOptions = {}): Promise<DhtContact[]> {
		if (this.#stopped) {
			return [];
		}

		const found = new Map<string, DhtContact>();
		let finish: () => void = () => {};
		let quietCheck: NodeJS.Timeout | undefined;
		const onValue = (peer: DhtContact, infoHash: Uint8Array) => {
			const id = `${peer.host}:${peer.port}`;
			if (!key.equals(infoHash) || found.size >= 1000 || found.has(id)) {
				return;
			}

			const contact = {host: peer.host, port: peer.port};
			found.set(id, contact);
			onPeer?.(contact);
			if (early && !quietCheck) {
				quietCheck = setInterval(() => {
					const now = performance.now();
					if ([...this.#outstanding.values()].every(sentAt => now - sentAt >= slowMs)) {
						finish();
					}
				}, 5);
			}
		};

		this.#dht.on('peer', onValue);
		const timer = setTimeout(() => {
			finish();
		}, timeoutMs);
		try {
			await new Promise<void>(resolve => {
				finish = resolve;
				const abort = this.#dht.lookup(key, () => {
					// The lookup's own store is read on the next tick; its peers come in before this one resolves.
					setImmediate(resolve);
				});
				if (!early) {
					finish = () => {
						abort();
						resolve();
					};
				}
			});
		} finally {
			clearTimeout(timer);
			clearInterval(quietCheck);
			this.#dht.off('peer', onValue);
		}

		return [...found.values()];
	}

	/** Calls `listener` when a node enters the routing table. */
	onNode(listener: () => void): void {
		this.#dht.on('node', () => {
			listener();
		});
	}

	/** Writes the routing table's contacts (bittorrent-dht's toJSON) to the state file. */
	async save(): Promise<void> {
		const file = this.#options.stateFile;
		if (!file || this.#stopped) {
			return;
		}

		const nodes = this.#dht.toJSON().nodes.slice(0, dhtLimits.maxSavedNodes);
		if (nodes.length === 0) {
			return;
		}

		const temporary = `${file}.${process.pid}.tmp`;
		try {
			await fs.mkdir(path.dirname(file), {recursive: true});
			await fs.writeFile(temporary, `${JSON.stringify({nodes})}\n`);
			await fs.rename(temporary, file);
		} catch (error) {
			await fs.rm(temporary, {force: true}).catch(() => {});
			this.#options.log?.(`DHT: routing table not saved: ${(error as Error).message}`);
		}
	}

	async stop(): Promise<void> {
		if (this.#stopped) {
			return;
		}

		clearInterval(this.#saveTimer);
		await this.save();
		this.#stopped = true;
		await new Promise<void>(resolve => {
			this.#dht.destroy(() => {
				resolve();
			});
		});
	}

	/**
	 * A query to a node that did not answer its last one (within forgetMs, and not heard from since)
	 * fails at once instead of waiting a query timeout again. Other nodes go on naming a node that
	 * died in their replies until their own queries to it time out, so without this every lookup
	 * that met it would wait the timeout (and hold one of the α query slots meanwhile).
	 */
	#skipUnanswered(dht: DHT): void {
		const {socket} = (dht as unknown as Engine)._rpc;
		const query = socket.query.bind(socket);
		const {forgetMs, max} = dhtLimits.unanswered;
		socket.query = (peer, message, callback) => {
			const address = `${peer.host}:${peer.port}`;
			const since = this.#unanswered.get(address);
			if (since !== undefined && Date.now() - since < forgetMs) {
				this.#stats.skipped++;
				process.nextTick(() => {
					callback(Object.assign(new Error('Query timed out (skipped: no answer to the last one)'), {code: 'ETIMEDOUT'}), null, peer);
				});
				return 0;
			}

			const seq = this.#querySeq++;
			this.#outstanding.set(seq, performance.now());
			return query(peer, message, (error, ...rest) => {
				this.#outstanding.delete(seq);
				if (error?.code === 'ETIMEDOUT') {
					this.#unanswered.delete(address);
					if (this.#unanswered.size >= max) {
						this.#unanswered.delete(this.#unanswered.keys().next().value!);
					}

					this.#unanswered.set(address, Date.now());
				}

				callback(error, ...rest);
			});
		};
	}

	/**
	 * Every packet is decoded and screened before the engine's own handler runs, and that handler
	 * runs inside a try: no packet can throw out of the socket's event (a crash of the program).
	 */
	#guard(socket: ReturnType<typeof createSocket>): void {
		const rate = new SenderRate(dhtLimits.rate);
		const emit = socket.emit.bind(socket);
		const send = socket.send.bind(socket) as (...arguments_: unknown[]) => void;
		(socket as unknown as {send: (...arguments_: unknown[]) => void}).send = (...arguments_: unknown[]) => {
			this.#stats.sent++;
			send(...arguments_);
		};

		socket.emit = ((event: string | symbol, ...arguments_: unknown[]) => {
			if (event !== 'message') {
				return emit(event, ...arguments_);
			}

			const [data, rinfo] = arguments_ as [Buffer, {address: string; port: number}];
			this.#stats.received++;
			if (!rate.allow(`${rinfo.address}:${rinfo.port}`, Date.now())) {
				this.#stats.rateLimited++;
				return false;
			}

			let decoded: unknown;
			try {
				decoded = bencode.decode(data);
			} catch {
				this.#stats.dropped++;
				return false;
			}

			if (screenKrpc(decoded) !== undefined) {
				this.#stats.dropped++;
				return false;
			}

			this.#unanswered.delete(`${rinfo.address}:${rinfo.port}`);

			try {
				return emit(event, ...arguments_);
			} catch {
				this.#stats.dropped++;
				return false;
			}
		}) as typeof socket.emit;
	}
}

type EngineContact = {id: Uint8Array; host: string; port: number};
type EngineQuery = {a: {info_hash: Buffer}};
type EnginePeer = {address?: string; host?: string; port: number};
type EngineContactAddress = {host: string; port: number};
type EngineCallback = (error: (Error & {code?: string}) | null, ...rest: unknown[]) => void;
/** The parts of bittorrent-dht 11 (and its k-rpc 5) that answerLikeKademlia changes: not its public API, so the version is pinned to 11. */
type Engine = {
	_rpc: {
		id: Buffer;
		socket: {query(peer: EngineContactAddress, message: unknown, callback: EngineCallback): number};
		nodes: {closest(id: Uint8Array, n?: number): EngineContact[]};
		response(peer: EnginePeer, query: unknown, response: Record<string, unknown>, nodes?: EngineContact[] | (() => void), callback?: () => void): void;
	};
	_peers: {get(key: string, n?: number): Uint8Array[]};
	_generateToken(host: string): Buffer;
	_ongetpeers(query: EngineQuery, peer: EnginePeer): void;
};

/**
 * Two changes to how the engine answers, both within BEP 5 and Kademlia:
 * - a find_node or get_peers reply carries the k closest nodes, not the whole routing table
 *   (a table of more than 32 nodes made replies that other nodes' screens dropped as too long,
 *   so a node joining through a well-known node could not join, and lookups waited on timeouts);
 * - a get_peers reply from a node that stores announces carries the closest nodes too, beside
 *   the values, as libtorrent's do: a lookup that meets a holder of some announces still goes on
 *   to the k closest nodes, so it converges, and an announce reaches the k truly closest.
 */
function answerLikeKademlia(dht: DHT): void {
	const engine = dht as unknown as Engine;
	const rpc = engine._rpc;
	const respond = rpc.response.bind(rpc);
	rpc.response = (...[peer, query, response, nodes, callback]) => {
		respond(peer, query, response, Array.isArray(nodes) ? nodes.slice(0, dhtLimits.nodesPerReply) : nodes, callback);
	};

	// Only called for a screened get_peers query (a 20-byte info_hash).
	engine._ongetpeers = (query, peer) => {
		const infoHash = query.a.info_hash;
		const reply: Record<string, unknown> = {id: rpc.id, token: engine._generateToken(peer.address ?? peer.host ?? '')};
		const values = engine._peers.get(Buffer.from(infoHash).toString('hex'), dhtLimits.valuesPerReply);
		if (values.length > 0) {
			reply.values = values;
		}

		rpc.response(peer, query, reply, rpc.nodes.closest(infoHash, dhtLimits.nodesPerReply));
	};
}

async function readSavedNodes(file: string): Promise<string[]> {
	try {
		const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as {nodes?: unknown};
		if (!Array.isArray(parsed.nodes)) {
			return [];
		}

		return parsed.nodes.slice(0, dhtLimits.maxSavedNodes).flatMap((node: unknown) => {
			const {host, port} = (node ?? {}) as Record<string, unknown>;
			return typeof host === 'string' && /^\d{1,3}(?:\.\d{1,3}){3}$/.test(host) && typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65_536 ? [`${host}:${port}`] : [];
		});
	} catch {
		return [];
	}
}
