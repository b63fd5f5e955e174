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
};

export type DhtStats = {sent: number; received: number; dropped: number; rateLimited: number};

export class DhtNode {
	readonly #dht: DHT;
	readonly #options: DhtNodeOptions;
	readonly #stats: DhtStats = {sent: 0, received: 0, dropped: 0, rateLimited: 0};
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

	/** The host:port pairs announced under `key` that the lookup met (deduplicated), within `timeoutMs`. */
	async lookup(key: Buffer, timeoutMs = 5000): Promise<DhtContact[]> {
		if (this.#stopped) {
			return [];
		}

		const found = new Map<string, DhtContact>();
		const onPeer = (peer: DhtContact, infoHash: Uint8Array) => {
			if (key.equals(infoHash) && found.size < 1000) {
				found.set(`${peer.host}:${peer.port}`, {host: peer.host, port: peer.port});
			}
		};

		this.#dht.on('peer', onPeer);
		try {
			await new Promise<void>(resolve => {
				const timer = setTimeout(() => {
					abort();
					resolve();
				}, timeoutMs);
				const abort = this.#dht.lookup(key, () => {
					clearTimeout(timer);
					resolve();
				});
			});
			// The lookup's own store is read on the next tick; its peers come in before this one resolves.
			await new Promise(resolve => {
				setImmediate(resolve);
			});
		} finally {
			this.#dht.off('peer', onPeer);
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

			try {
				return emit(event, ...arguments_);
			} catch {
				this.#stats.dropped++;
				return false;
			}
		}) as typeof socket.emit;
	}
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
