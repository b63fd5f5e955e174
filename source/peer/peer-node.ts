/**
 * One running peer, wired together: its share dir, embedded server, membership at the tracker
 * and the commands. The TUI and the scripted mode both drive it and listen to its events.
 */
import {EventEmitter} from 'node:events';
import type {Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {networkInterfaces} from 'node:os';
import fs from 'node:fs/promises';
import path from 'node:path';
import md5File from 'md5-file';
import {LocalFaultError, localFault, XfsError} from '../common/errors.js';
import {closeServer, formatHost} from '../common/listen.js';
import type {Logger} from '../common/log.js';
import type {DhtNode} from '../common/dht-node.js';
import type {FileEntry, FileSummary, FindReply, LoadReply, PartialHolderRef, PeerSummary} from '../common/wire.js';
import {rankHolders, type ScoredHolder} from '../core/cost.js';
import {LoadCounter} from '../core/load-counter.js';
import {holderBackoff} from '../core/retry-policy.js';
import type {TrackerStatus} from '../core/tracker-link.js';
import type {MountEvent} from '../core/mount-events.js';
import type {DownloadEvent, DownloadResult} from '../core/transfer-types.js';
import {getLoad, reportMismatch} from '../clients/peer-client.js';
import {TrackerClient} from '../clients/tracker-client.js';
import {startPeerServer} from '../serve/peer-app.js';
import {loadIdentity} from '../share/identity-file.js';
import {NameBook} from '../share/name-book.js';
import {LocalShare, type WatchState} from '../share/local-share.js';
import {PartialHoldings} from '../share/partial-holdings.js';
import {PinStore} from '../share/pin-store.js';
import {type PreparedShare, prepareShare, stateDirName} from '../share/share-dir.js';
import {download, type DownloaderDeps} from '../transfer/download.js';
import type {FuseModule} from '../mount/fuse-binding.js';
import type {NetworkMount} from '../mount/network-mount.js';
import {closeIdleHashingThreads} from '../transfer/hashing-sink.js';
import {DhtPresence} from './dht-presence.js';
import {HolderLookup} from './locate.js';
import {Membership, type PublishedList} from './membership.js';
import {notices} from './notices.js';
import {PartialAnnouncer} from './partial-announce.js';
import type {PeerConfig} from './peer-config.js';
import {copyIntoShare, Replication, type PutResult, type ReplicaDirectory, type UnpinResult} from './replication.js';

export type {TrackerStatus} from '../core/tracker-link.js';

/** `partial`: peers still downloading the file (swarm), with the parts they have; absent when there are none. `pinned`, `copies`: for a pinned file. */
export type FindResult = {name: string; md5: string; size: number; peers: ScoredHolder[]; down: string[]; local: boolean; stale: boolean; partial?: PartialHolderRef[]; pinned?: number; copies?: string[]};

export type PeerEvents = {
	tracker: [TrackerStatus];
	load: [number];
	download: [DownloadEvent];
	notice: [string];
	/** A line on waiting for the tracker or for holders, and on rejoining; the TUI shows the same from `tracker` and `download` events. */
	retry: [string];
	/** The share dir's watch started, failed, or stopped. */
	watch: [WatchState];
	/** A remote file read through the mount: started, progressing, ended. */
	mount: [MountEvent];
};

export const getLoadTimeoutMs = 1000;

/** What the membership publishes before the share dir is ready: nothing. */
const nothingShared: PublishedList = {
	wholeList: () => ({json: '[]', version: 0, count: 0}),
	takeBatch: () => undefined,
	hasPending: false,
	pendingCount: 0,
};

export class PeerNode extends EventEmitter<PeerEvents> {
	readonly config: PeerConfig;
	/** Request log of the embedded server; set by headless peers. */
	logger: Logger | undefined;
	readonly load = new LoadCounter();
	readonly tracker: TrackerClient;
	/** The share dir as the user named it (resolved once it is prepared). */
	shareDir: string;
	/** The URL this peer tells the tracker (others reach it at), and the one it really listens at. */
	url = '';
	listeningUrl = '';
	#share: LocalShare | undefined;
	/** The name records this peer lists its files with (loaded with its key). */
	#names: NameBook | undefined;
	/** The last Find reply of each name being downloaded: its owner's record goes with the copy. */
	readonly #found = new Map<string, FindReply>();
	#server: Server | undefined;
	#mount: NetworkMount | undefined;
	readonly #membership: Membership;
	readonly #lookup: HolderLookup;
	/** Swarm: the files downloading by parts, served from their verified parts and announced in batches (none with --no-swarm). */
	readonly #partial: PartialHoldings | undefined;
	#announcer: PartialAnnouncer | undefined;
	#replication: Replication | undefined;
	/** The DHT node and this peer's presence in it (Serverless), when --bootstrap or --dht-port is given. */
	#dht: DhtNode | undefined;
	#presence: DhtPresence | undefined;

	constructor(config: PeerConfig) {
		super();
		this.config = config;
		this.shareDir = config.dir;
		this.tracker = new TrackerClient(config.tracker, {secret: config.secret});
		this.#membership = new Membership(this.tracker, {
			id: config.id, heartbeatMs: config.heartbeatMs, trackerWaitMs: config.trackerWaitMs, list: () => this.#published(), url: () => this.url,
		});
		this.#membership.on('tracker', status => this.emit('tracker', status));
		this.#membership.on('notice', message => this.emit('notice', message));
		this.#membership.on('retry', message => this.emit('retry', message));
		this.#lookup = new HolderLookup(this.tracker, this.#membership, message => this.emit('notice', message), {dht: () => this.#presence, trackerless: config.trackerless});
		this.load.onChange(load => this.emit('load', load));
		this.#partial = config.swarm ? new PartialHoldings() : undefined;
	}

	get files(): readonly FileEntry[] {
		return this.#share?.entries ?? [];
	}

	/** Whether the share dir is watched, only rescanned, or neither. */
	get watchState(): WatchState {
		return this.#share?.watchState ?? {state: 'off'};
	}

	get trackerStatus(): TrackerStatus {
		return this.#membership.status;
	}

	/**
	 * Prepares the share dir (or takes one already being prepared, as the CLI starts it on a
	 * worker thread while the rest of the program loads), serves it and joins the tracker
	 * (in the background if it is down).
	 */
	async start(prepared: Promise<PreparedShare> = prepareShare(this.config.dir)): Promise<void> {
		// Meanwhile a connection to the tracker is opened, and kept alive for the registration below.
		if (!this.config.trackerless) {
			this.tracker.health().then(({secured}) => {
				if (secured !== undefined && secured !== Boolean(this.config.secret)) {
					this.emit('notice', notices.secretMismatch(this.tracker.url, secured));
				}
			}, () => {});
		}

		// The server starts listening meanwhile: no one learns its URL before the registration below.
		const serving = startPeerServer({
			id: this.config.id,
			// Nothing is served before the share dir is pinned, nor while it is withdrawn.
			shareDir: () => this.#share?.ioDir,
			listed: name => this.#share?.listedWithStamp(name),
			entries: () => this.#share?.entries ?? [],
			entry: name => this.#listedAsPublished(name),
			onStale: name => {
				void this.#share?.verify(name);
			},
			onMismatchReport: name => this.#share?.reportMismatch(name) ?? false,
			latency: this.config.latency,
			latencyScale: this.config.latencyScale,
			load: this.load,
			faults: this.config.faults,
			partSize: this.config.partSize,
			secret: this.config.secret,
			identity: () => this.tracker.identity,
			logger: this.logger,
			uploadLimit: this.config.uploadLimit,
			maxUploads: this.config.maxUploads,
			uploadIdleMs: this.config.uploadIdleMs,
			partial: this.#partial && (name => this.#partial?.get(name)),
			waitForMore: this.#partial && (async (name, count, timeoutMs, signal) => this.#partial?.waitForMore(name, count, timeoutMs, signal)),
			log: message => this.emit('notice', message),
			onReplicaRequest: async body => this.#replication?.onRequest(body) ?? {status: 503, body: {error: {code: 'BUSY', message: `${this.config.id} is starting`}}},
		}, this.config.port, this.config.host);
		serving.catch(() => {});
		let share: PreparedShare;
		try {
			share = await prepared;
		} catch (error) {
			// The share dir's error comes first; a server that did start is closed.
			await serving.then(async server => closeServer(server), () => {});
			throw error;
		}

		this.shareDir = share.shareDir;
		try {
			const {identity} = await loadIdentity(share.shareDir);
			this.#names = await NameBook.load(share.shareDir, identity);
			this.tracker.identity = identity;
		} catch (error) {
			await serving.then(async server => closeServer(server), () => {});
			throw error;
		}

		if (share.cleaned > 0) {
			this.emit('notice', notices.cleaned(share.cleaned));
		}

		this.emit('notice', notices.scanned(share.stats, share.scanMs));
		let local: LocalShare;
		try {
			local = await LocalShare.open(share, {settleMs: this.config.settleMs, rescanMs: this.config.rescanMs, watch: this.config.watch, watchFault: this.config.faults.watchError});
		} catch (error) {
			await serving.then(async server => closeServer(server), () => {});
			throw error;
		}

		this.#share = local;
		try {
			this.#replication = this.#startReplication(local, await PinStore.open(local.ioDir ?? share.shareDir));
		} catch (error) {
			await serving.then(async server => closeServer(server), () => {});
			throw error;
		}

		local.on('changed', () => {
			this.#membership.publishChanges().catch(() => {});
			this.#presence?.announceChanges().catch(() => {});
			this.#mount?.changed();
		});
		local.on('notice', message => this.emit('notice', message));
		local.on('watch', state => this.emit('watch', state));
		local.start();
		this.#server = await serving;
		const {port} = this.#server.address() as AddressInfo;
		// On every interface (0.0.0.0), the first non-loopback address is as real as any.
		this.listeningUrl = `http://${formatHost(advertisedHost(this.config.host))}:${port}`;
		this.url = this.config.advertise?.replace(/\/+$/, '') ?? this.listeningUrl;
		if (this.url !== this.listeningUrl) {
			// Others use the advertised URL: say at once if it does not lead here.
			void this.#checkAdvertised();
		}

		if (this.#partial && !this.config.trackerless) {
			this.#announcer = new PartialAnnouncer(this.tracker, {
				id: this.config.id, holdings: this.#partial, refreshMs: Math.max(1000, this.config.heartbeatMs), registered: () => this.#membership.link.registered,
			});
		}

		if (this.config.dhtPort !== undefined) {
			try {
				await this.#startDht();
			} catch (error) {
				await this.#closeServer();
				throw error;
			}
		}

		if (this.config.trackerless) {
			return;
		}

		try {
			await this.#membership.join();
		} catch (error) {
			if (error instanceof XfsError && error.code === 'ID_IN_USE') {
				await this.#closeServer();
			}

			throw error;
		}
	}

	/** Joins the DHT (through --bootstrap, or the nodes it knew at its last run) and starts announcing. */
	async #startDht(): Promise<void> {
		const {DhtNode, nodeIdOf} = await import('../common/dht-node.js');
		const bootstrap = this.config.bootstrap ?? [];
		this.#dht = await DhtNode.start({
			nodeId: nodeIdOf(this.config.id),
			port: this.config.dhtPort ?? 0,
			host: this.config.host === '::' ? '0.0.0.0' : this.config.host,
			bootstrap,
			stateFile: path.join(this.config.dir, stateDirName, 'dht.json'),
			recordTtlMs: this.config.dhtTtlMs ?? 900_000,
			log: message => this.emit('notice', message),
		});
		this.emit('notice', notices.dhtJoined(this.#dht.address, this.#dht.knownNodes, bootstrap));
		this.#presence = new DhtPresence({
			id: this.config.id,
			dht: this.#dht,
			url: () => this.url,
			entries: () => this.#share?.entries ?? [],
			entry: name => this.#listedAsPublished(name),
			announceMs: this.config.announceMs ?? 300_000,
			secret: this.config.secret,
			notice: message => this.emit('notice', message),
		});
		this.#presence.start();
	}

	/** Host:port of this peer's DHT node (UDP), when it runs one. */
	get dhtAddress(): string | undefined {
		return this.#dht?.address;
	}

	get listeningPort(): number {
		return (this.#server?.address() as AddressInfo).port;
	}

	/** Where the network is mounted (--mount), once it is. */
	get mountDir(): string | undefined {
		return this.#mount?.dir;
	}

	/** Mounts the network at `dir` (an empty directory, checked by prepareMountPoint); resolves once the mount answers. */
	async mount(dir: string, {fuse, fusermount}: {fuse: FuseModule; fusermount: string}): Promise<void> {
		const {NetworkMount} = await import('../mount/network-mount.js');
		this.#mount = await NetworkMount.start({
			dir,
			fuse,
			fusermountPath: fusermount,
			downloaderDeps: () => this.#downloaderDeps(),
			// The listing refreshes in the background and serves the last one while the tracker is down: no waiting here.
			networkFiles: async () => this.tracker.files(),
			localFiles: () => this.files,
			announce: async file => this.#announce(file),
			onEvent: event => this.emit('mount', event),
			notice: message => this.emit('notice', message),
			peerWaitMs: this.config.peerWaitMs,
		});
	}

	/** Unmounts (first of all on the way out); returns the line to show when it had to be lazy. */
	async unmount(): Promise<string | undefined> {
		const mount = this.#mount;
		this.#mount = undefined;
		return mount?.close();
	}

	/** Leaves the tracker (best effort) and stops serving; uploads in flight are cut. */
	async stop(): Promise<void> {
		this.#announcer?.stop();
		this.#presence?.stop();
		await this.unmount();
		// Pinned copies are handed on first, while this peer still serves them (bounded by --handoff-ms).
		await this.#replication?.handOff();
		await this.#membership.leave();
		await Promise.all([this.#closeServer(), closeIdleHashingThreads(), this.#share?.close(), this.#names?.flush(), this.#dht?.stop()]);
	}

	async #closeServer(): Promise<void> {
		if (this.#server) {
			await closeServer(this.#server);
			this.#server = undefined;
		}
	}

	/** updatelist: rescans the share dir and sends the whole list. */
	async updateList(): Promise<readonly FileEntry[]> {
		// A file written just now is listed once it has settled: the md5 of a half-written file never goes out.
		await this.#share?.rescan({settled: true});
		if (this.config.trackerless) {
			await this.#presence?.announceAll();
			return this.files;
		}

		await this.#membership.withTracker('updatelist', async retry => this.#membership.sendList(retry));
		return this.files;
	}

	async find(name: string): Promise<FindResult> {
		const {reply, stale} = await this.#lookup.locate(name);
		const others = reply.peers.filter(peer => peer.id !== this.config.id);
		const probed = await Promise.all(others.map(async peer => {
			try {
				return {...peer, load: (await getLoad(peer.url, {timeoutMs: getLoadTimeoutMs, secret: this.config.secret})).load};
			} catch {
				return {...peer, load: undefined};
			}
		}));
		const partial = reply.partial?.filter(peer => peer.id !== this.config.id) ?? [];
		const up = probed.flatMap(peer => (peer.load === undefined ? [] : [{id: peer.id, url: peer.url, load: peer.load, latencyMs: this.latencyTo(peer.id)}]));
		return {
			name: reply.name,
			md5: reply.md5,
			size: reply.size,
			peers: rankHolders(up, {policy: 'cost', k: this.config.k}),
			down: probed.filter(peer => peer.load === undefined).map(peer => peer.id),
			local: reply.peers.some(peer => peer.id === this.config.id),
			stale,
			...(partial.length > 0 ? {partial} : {}),
			...(reply.pinned === undefined ? {} : {pinned: reply.pinned, copies: reply.copies ?? []}),
		};
	}

	/** download: the owner's latest version of the name, or with `md5` exactly that content. */
	async download(name: string, md5?: string): Promise<DownloadResult> {
		const deps = this.#downloaderDeps(md5);
		if (!deps) {
			throw new LocalFaultError('LOCAL_IO', this.shareDir, `the share dir ${this.shareDir} is not there (moved or deleted): nothing can be downloaded into it until it is back`);
		}

		return download(deps, name);
	}

	/** What a download (or a read through the mount) works with; undefined while the share dir is withdrawn. */
	#downloaderDeps(md5?: string): DownloaderDeps | undefined {
		const ioDir = this.#share?.ioDir;
		if (!ioDir) {
			return undefined;
		}

		const locate = async (file: string) => {
			const {reply} = await this.#lookup.locate(file, md5);
			this.#found.set(file, reply);
			return reply;
		};

		return this.#downloadDeps(ioDir, this.shareDir, locate, async file => this.#announce(file));
	}

	/** put: keeps the file on r peers (README "Replication"); a path outside the share dir is copied in first. */
	async put(target: {name: string; path?: string}): Promise<PutResult> {
		const {share, replication, ioDir} = this.#replicating();
		const {name} = target;
		const inShare = path.join(ioDir, name);
		if (target.path !== undefined && path.resolve(path.dirname(target.path)) !== this.shareDir) {
			const existing = share.listed(name);
			if (existing) {
				if (await md5File(target.path) !== existing.md5) {
					throw new XfsError('ALREADY_HAVE', `another file named ${name} is already in the share dir ${this.shareDir}`);
				}
			} else {
				await copyIntoShare(target.path, ioDir, name).catch((error: unknown) => {
					throw (error as NodeJS.ErrnoException).code === 'EEXIST'
						? new XfsError('ALREADY_HAVE', `another file named ${name} appeared in the share dir ${this.shareDir}`)
						: localFault(error, target.path!, 'copy') ?? error;
				});
			}
		}

		let entry = share.listed(name);
		const stats = await fs.stat(inShare).catch(() => undefined);
		if (!stats?.isFile()) {
			throw new XfsError('NOT_FOUND', `no file ${name} in the share dir ${this.shareDir}`);
		}

		if (entry?.size !== stats.size) {
			entry = {name, md5: await md5File(inShare), size: stats.size};
			await share.placed(entry);
		}

		// The copies are fetched at once, each at least as slow as a download: 30 s, and a second per MiB on top.
		return replication.put(entry, this.config.replicas ?? 3, Math.max(this.config.peerWaitMs * 3, 30_000) + Math.ceil(entry.size / 1024));
	}

	async unpin(name: string): Promise<UnpinResult> {
		return this.#replicating().replication.unpin(name);
	}

	#replicating(): {share: LocalShare; replication: Replication; ioDir: string} {
		const ioDir = this.#share?.ioDir;
		if (!this.#share || !this.#replication || !ioDir) {
			throw new LocalFaultError('LOCAL_IO', this.shareDir, `the share dir ${this.shareDir} is not there (moved or deleted)`);
		}

		return {share: this.#share, replication: this.#replication, ioDir};
	}

	#startReplication(share: LocalShare, pins: PinStore): Replication {
		const {config} = this;
		const replication = new Replication({
			id: config.id,
			replicas: config.replicas ?? 3,
			replicaSpace: config.replicaSpace,
			repairMs: config.repairMs ?? config.heartbeatMs,
			graceMs: config.repairGraceMs ?? config.heartbeatMs,
			handoffMs: config.handoffMs ?? 10_000,
			secret: config.secret,
			partSize: config.partSize,
			swarm: config.swarm,
		}, {
			// Without a tracker, the DHT's view: the live peers it sees, and Find through it (with the pinned copies).
			tracker: config.trackerless ? this.#dhtDirectory() : this.tracker,
			pins,
			ioDir: () => share.ioDir,
			listed: name => share.listed(name),
			placed: async entry => share.placed(entry),
			removed: async name => share.verify(name),
			touch(name) {
				share.touch(name);
			},
			publish: async () => {
				await (config.trackerless ? this.#presence?.announceChanges() : this.#membership.publishChanges());
			},
			fetch: async (name, dir, locate, preferPartial) => {
				let located: FindReply | undefined;
				/** The holders of the whole file when the fetch began: any other source was a partial holder then. */
				let whole: Set<string> | undefined;
				const result = await download({...this.#downloadDeps(dir, dir, async file => {
					located = await locate(file);
					whole ??= new Set(located.peers.map(peer => peer.id));
					return located;
				}, async () => {}), ...(preferPartial ? {preferPartial} : {})}, name);
				// A copy carries its owner's name record, as a download's does.
				if (located?.md5 === result.md5) {
					this.#names?.adopt({name, md5: result.md5, size: located.size}, located);
				}

				// Where the bytes came from: holders of the whole file, or partial holders (swarm); parts reused from an interrupted run.
				const sources = result.sources ?? [{id: result.from, parts: 1, received: result.size - (result.reused?.bytes ?? 0)}];
				return {
					md5: result.md5,
					received: sources.reduce((sum, source) => sum + source.received, 0),
					fromPartial: sources.filter(source => !whole?.has(source.id)).reduce((sum, source) => sum + source.received, 0),
					reused: result.reused?.bytes ?? 0,
				};
			},
			notice: message => this.emit('notice', message),
		});
		replication.start();
		return replication;
	}

	#downloadDeps(shareDir: string, shownDir: string, locate: (name: string) => Promise<FindReply>, announce: (file: FileEntry) => Promise<void>): DownloaderDeps {
		return {
			id: this.config.id,
			shareDir,
			shownDir,
			locate,
			probeLoad: async holder => (await getLoad(holder.url, {timeoutMs: getLoadTimeoutMs, secret: this.config.secret})).load,
			latencyTo: peerId => this.latencyTo(peerId),
			latencyScale: this.config.latencyScale,
			policy: this.config.policy,
			k: this.config.k,
			load: this.load,
			suspect: peerId => {
				if (!this.config.trackerless) {
					this.tracker.suspect(peerId).catch(() => {});
				}
			},
			reportMismatch: (holder, file) => {
				reportMismatch(holder.url, file, {secret: this.config.secret}).catch(() => {});
			},
			announce,
			allDownWaitMs: this.config.peerWaitMs,
			backoff: holderBackoff,
			onEvent: event => {
				if (event.type === 'waiting') {
					this.emit('retry', notices.downloadWaiting(event.name, event.reason, event.retryInMs, this.config.peerWaitMs));
				}

				this.emit('download', event);
			},
			maxSources: this.config.maxSources,
			partSize: this.config.partSize,
			secret: this.config.secret,
			partial: this.#partial,
		};
	}

	/** GetLoad of a machID (resolved through the tracker) or a URL. */
	async getLoad(target: {kind: 'peer'; id: string} | {kind: 'address'; url: string}): Promise<LoadReply> {
		let url: string;
		if (target.kind === 'address') {
			url = target.url;
		} else if (this.config.trackerless) {
			const found = await this.#presence?.resolve(target.id);
			if (!found) {
				throw new XfsError('NOT_FOUND', `no peer "${target.id}" is known here or announced in the DHT`);
			}

			url = found;
		} else {
			const peer = (await this.trackerPeers(`getload ${target.id}`)).find(candidate => candidate.id === target.id);
			if (!peer) {
				throw new XfsError('NOT_FOUND', `the tracker knows no peer "${target.id}"`);
			}

			url = peer.url;
		}

		return getLoad(url, {timeoutMs: getLoadTimeoutMs * 3, secret: this.config.secret});
	}

	/** `files`: the tracker's list, or without a tracker the view from the peers this node knows (viewFrom: how many answered). */
	async networkFiles(): Promise<{files: FileSummary[]; viewFrom?: number}> {
		return this.config.trackerless ? this.#presence!.files() : {files: await this.trackerFiles()};
	}

	/** `peers`: the tracker's list, or without a tracker the peers this node knows that answered. */
	async networkPeers(): Promise<{peers: PeerSummary[]; viewFrom?: number}> {
		return this.config.trackerless ? this.#presence!.peers() : {peers: await this.trackerPeers()};
	}

	async trackerFiles() {
		return this.#membership.withTracker('files', async retry => this.tracker.files(retry));
	}

	async trackerPeers(what = 'peers') {
		return this.#membership.withTracker(what, async retry => this.tracker.peers(retry));
	}

	latencyTo(peerId: string): number {
		return this.config.latency.between(this.config.id, peerId);
	}

	async #checkAdvertised(): Promise<void> {
		try {
			const {id} = await getLoad(this.url, {timeoutMs: 2000, secret: this.config.secret});
			if (id !== this.config.id) {
				this.emit('notice', notices.advertisedMismatch(this.url, `it answers as ${id}`));
			}
		} catch (error) {
			this.emit('notice', notices.advertisedMismatch(this.url, (error as Error).message));
		}
	}

	/** A file just downloaded: listed, and published as one change (the tracker may be down; membership catches up). */
	/** The list the membership publishes: the share's, each entry with its name record, and a pinned one with its `pinned: r`. */
	#published(): PublishedList {
		const share = this.#share;
		const names = this.#names;
		if (!share || !names) {
			return nothingShared;
		}

		const replication = this.#replication;
		const decorate = (entry: FileEntry) => {
			const recorded = names.recorded(entry);
			return replication?.hasPins ? replication.decorate(recorded) : recorded;
		};

		return {
			wholeList() {
				const whole = share.wholeList();
				const entries = JSON.parse(whole.json) as FileEntry[];
				return {...whole, json: JSON.stringify(entries.map(entry => decorate(entry)))};
			},
			takeBatch() {
				const batch = share.takeBatch();
				return batch && {...batch, changes: {...batch.changes, add: batch.changes.add.map(entry => decorate(entry))}};
			},
			get hasPending() {
				return share.hasPending;
			},
			get pendingCount() {
				return share.pendingCount;
			},
		};
	}

	/** A listed entry as others see it: with `pinned: r` when this peer keeps it pinned (GET /files/:name/info, the DHT's Find). */
	#listedAsPublished(name: string): FileEntry | undefined {
		const entry = this.#share?.listed(name);
		return entry && this.#replication ? this.#replication.decorate(entry) : entry;
	}

	#dhtDirectory(): ReplicaDirectory {
		return {
			peers: async () => this.#presenceRunning().livePeers(),
			find: async name => this.#presenceRunning().find(name),
		};
	}

	#presenceRunning(): DhtPresence {
		if (!this.#presence) {
			throw new XfsError('NOT_FOUND', 'the DHT node is not running yet');
		}

		return this.#presence;
	}

	async #announce(file: FileEntry): Promise<void> {
		const found = this.#found.get(file.name);
		this.#found.delete(file.name);
		if (found?.md5 === file.md5) {
			this.#names?.adopt(file, found);
		}

		await this.#share?.placed(file);
		await this.#membership.publishChanges().catch(() => {});
	}
}

function advertisedHost(host: string): string {
	if (host !== '0.0.0.0' && host !== '::') {
		return host;
	}

	for (const addresses of Object.values(networkInterfaces())) {
		for (const address of addresses ?? []) {
			if (address.family === 'IPv4' && !address.internal) {
				return address.address;
			}
		}
	}

	return '127.0.0.1';
}
