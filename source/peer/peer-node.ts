/**
 * One running peer: its share dir, embedded server, tracker membership (register,
 * heartbeat, re-register on a new epoch) and the commands. The TUI and the scripted
 * mode both drive it and listen to its events.
 */
import {EventEmitter} from 'node:events';
import type {Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {networkInterfaces} from 'node:os';
import {setTimeout as sleep} from 'node:timers/promises';
import {rankHolders, type ScoredHolder} from '../core/cost.js';
import {download, type DownloadEvent, type DownloadResult} from '../transfer/download.js';
import {TrackerDownError, XfsError} from '../common/errors.js';
import {closeIdleHashingThreads} from '../transfer/hashing-sink.js';
import {closeServer, formatHost} from '../common/listen.js';
import {LoadCounter} from '../core/load-counter.js';
import type {Logger} from '../common/log.js';
import {getLoad} from '../clients/peer-client.js';
import type {PeerConfig} from './peer-config.js';
import {startPeerServer} from '../serve/peer-app.js';
import {
	backoffDelay, heartbeatDelay, holderBackoff, nextDelayWithin, provisionalNotFoundWait, trackerBackoff,
} from '../core/retry-policy.js';
import {type PreparedShare, prepareShare, scanShare} from '../share/share-dir.js';
import {SharedList} from '../share/shared-list.js';
import {TrackerClient} from '../clients/tracker-client.js';
import type {FileEntry, FindReply, LoadReply} from '../common/wire.js';

export type TrackerStatus =
	| {state: 'connecting'}
	| {state: 'connected'; epoch: string}
	| {state: 'waiting'; retryAt: number; reason: string}
	| {state: 'restarted'; epoch: string};

export type FindResult = {name: string; md5: string; size: number; peers: ScoredHolder[]; down: string[]; local: boolean; stale: boolean};

export type PeerEvents = {
	tracker: [TrackerStatus];
	load: [number];
	download: [DownloadEvent];
	notice: [string];
	/** A line on waiting for the tracker or for holders, and on rejoining; the TUI shows the same from `tracker` and `download` events. */
	retry: [string];
};

export {holderBackoff, trackerBackoff} from '../core/retry-policy.js';
export const getLoadTimeoutMs = 1000;

export class PeerNode extends EventEmitter<PeerEvents> {
	readonly config: PeerConfig;
	/** Request log of the embedded server; set by headless peers. */
	logger: Logger | undefined;
	readonly load = new LoadCounter();
	readonly tracker: TrackerClient;
	shareDir: string;
	url = '';
	trackerStatus: TrackerStatus = {state: 'connecting'};
	#files = SharedList.of([]);
	#server: Server | undefined;
	#epoch: string | undefined;
	#registered = false;
	#membership: Promise<void> | undefined;
	#stopping = new AbortController();
	/** Last Find answer per file: used while the tracker is down. */
	readonly #lastKnown = new Map<string, FindReply>();
	#syncing: Promise<void> = Promise.resolve();
	/** Set while tracker calls fail; cleared by the first call that gets through. */
	#trackerLost = false;
	/** When the tracker came back (a new epoch, or answering after an outage); its NOT_FOUND answers are provisional for one heartbeat. */
	#trackerBack: {at: number; restarted: boolean} | undefined;

	constructor(config: PeerConfig) {
		super();
		this.config = config;
		this.shareDir = config.dir;
		this.tracker = new TrackerClient(config.tracker, {secret: config.secret});
		this.load.onChange(load => this.emit('load', load));
	}

	get files(): readonly FileEntry[] {
		return this.#files.entries;
	}

	/**
	 * Prepares the share dir (or takes one already being prepared, as the CLI starts it on a
	 * worker thread while the rest of the program loads), serves it and joins the tracker
	 * (in the background if it is down).
	 */
	async start(prepared: Promise<PreparedShare> = prepareShare(this.config.dir)): Promise<void> {
		// Meanwhile a connection to the tracker is opened, and kept alive for the registration below.
		this.tracker.health().catch(() => {});
		// The server starts listening meanwhile: no one learns its URL before the registration below.
		const serving = startPeerServer({
			id: this.config.id,
			shareDir: this.config.dir,
			latency: this.config.latency,
			latencyScale: this.config.latencyScale,
			load: this.load,
			faults: this.config.faults,
			partSize: this.config.partSize,
			secret: this.config.secret,
			logger: this.logger,
			uploadLimit: this.config.uploadLimit,
			log: message => this.emit('notice', message),
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

		const {shareDir, cleaned, files, stats, scanMs} = share;
		this.shareDir = shareDir;
		if (cleaned > 0) {
			this.emit('notice', `removed ${cleaned} unfinished download(s) from an earlier run`);
		}

		this.#files = files;
		this.emit('notice', `shared ${stats.files} file(s): ${stats.hashed} hashed, ${stats.cached} from the hash cache, in ${scanMs} ms`);
		this.#server = await serving;
		const {port} = this.#server.address() as AddressInfo;
		this.url = this.config.advertise?.replace(/\/+$/, '') ?? `http://${formatHost(advertisedHost(this.config.host))}:${port}`;
		let failures = 0;
		try {
			await this.#register();
		} catch (error) {
			if (error instanceof XfsError && error.code === 'ID_IN_USE') {
				await this.#closeServer();
				throw error;
			}

			failures = 1;
			this.#trackerDown(failures, error);
		}

		this.#membership = this.#keepMembership(failures);
	}

	get listeningPort(): number {
		return (this.#server?.address() as AddressInfo).port;
	}

	/** Leaves the tracker (best effort) and stops serving; uploads in flight are cut. */
	async stop(): Promise<void> {
		this.#stopping.abort();
		await this.#membership?.catch(() => {});
		if (this.#registered) {
			await this.tracker.leave(this.config.id).catch(() => {});
		}

		await Promise.all([this.#closeServer(), closeIdleHashingThreads()]);
	}

	async #closeServer(): Promise<void> {
		if (this.#server) {
			await closeServer(this.#server);
			this.#server = undefined;
		}
	}

	/** updatelist: rescans the share dir and sends the whole list. */
	async updateList(): Promise<readonly FileEntry[]> {
		this.#files = (await scanShare(this.shareDir)).files;
		await this.#withTracker('updatelist', async () => this.#register());
		return this.#files.entries;
	}

	async find(name: string): Promise<FindResult> {
		const {reply, stale} = await this.#locate(name);
		const others = reply.peers.filter(peer => peer.id !== this.config.id);
		const probed = await Promise.all(others.map(async peer => {
			try {
				return {...peer, load: (await getLoad(peer.url, {timeoutMs: getLoadTimeoutMs})).load};
			} catch {
				return {...peer, load: undefined};
			}
		}));
		const up = probed.flatMap(peer => (peer.load === undefined ? [] : [{id: peer.id, url: peer.url, load: peer.load, latencyMs: this.latencyTo(peer.id)}]));
		return {
			name: reply.name,
			md5: reply.md5,
			size: reply.size,
			peers: rankHolders(up, {policy: 'cost', k: this.config.k}),
			down: probed.filter(peer => peer.load === undefined).map(peer => peer.id),
			local: reply.peers.some(peer => peer.id === this.config.id),
			stale,
		};
	}

	async download(name: string): Promise<DownloadResult> {
		return download({
			id: this.config.id,
			shareDir: this.shareDir,
			locate: async file => (await this.#locate(file)).reply,
			probeLoad: async holder => (await getLoad(holder.url, {timeoutMs: getLoadTimeoutMs})).load,
			latencyTo: peerId => this.latencyTo(peerId),
			latencyScale: this.config.latencyScale,
			policy: this.config.policy,
			k: this.config.k,
			load: this.load,
			suspect: peerId => {
				this.tracker.suspect(peerId).catch(() => {});
			},
			announce: async file => this.#announce(file),
			allDownWaitMs: this.config.peerWaitMs,
			backoff: holderBackoff,
			onEvent: event => {
				if (event.type === 'waiting') {
					this.emit('retry', `download ${event.name}: ${event.reason}, retrying in ${seconds(event.retryInMs)} s (waits up to ${seconds(this.config.peerWaitMs)} s)`);
				}

				this.emit('download', event);
			},
			maxSources: this.config.maxSources,
			partSize: this.config.partSize,
			secret: this.config.secret,
		}, name);
	}

	/** GetLoad of a machID (resolved through the tracker) or a URL. */
	async getLoad(target: {kind: 'peer'; id: string} | {kind: 'address'; url: string}): Promise<LoadReply> {
		let url: string;
		if (target.kind === 'address') {
			url = target.url;
		} else {
			const peer = (await this.#withTracker(`getload ${target.id}`, async () => this.tracker.peers())).find(candidate => candidate.id === target.id);
			if (!peer) {
				throw new XfsError('NOT_FOUND', `the tracker knows no peer "${target.id}"`);
			}

			url = peer.url;
		}

		return getLoad(url, {timeoutMs: getLoadTimeoutMs * 3});
	}

	async trackerFiles() {
		return this.#withTracker('files', async () => this.tracker.files());
	}

	async trackerPeers() {
		return this.#withTracker('peers', async () => this.tracker.peers());
	}

	latencyTo(peerId: string): number {
		return this.config.latency.between(this.config.id, peerId);
	}

	/** A file just downloaded: add it to the list and send the list (the tracker may be down; membership catches up). */
	async #announce(file: FileEntry): Promise<void> {
		this.#files = SharedList.of([...this.#files.entries.filter(entry => entry.name !== file.name), file].sort((a, b) => (a.name < b.name ? -1 : 1)));
		await this.#register().catch(() => {});
	}

	/**
	 * Find, waiting with back-off while the tracker is down; the last known answer serves meanwhile.
	 * Right after the tracker came back, a NOT_FOUND is asked again until one heartbeat has passed.
	 */
	async #locate(name: string): Promise<{reply: FindReply; stale: boolean}> {
		for (let attempt = 1; ; attempt++) {
			try {
				const reply = await this.#withTracker(`find ${name}`, async () => this.tracker.find(name), this.#lastKnown.has(name) ? 0 : undefined);
				this.#lastKnown.set(name, reply);
				return {reply, stale: false};
			} catch (error) {
				const cached = this.#lastKnown.get(name);
				if (error instanceof TrackerDownError && cached) {
					this.emit('notice', `tracker down: using the last known holders of ${name} (${cached.peers.map(peer => peer.id).join(', ')})`);
					return {reply: cached, stale: true};
				}

				if (!(error instanceof XfsError && error.code === 'NOT_FOUND')) {
					throw error;
				}

				const settling = provisionalNotFoundWait(Date.now(), this.#trackerBack?.at, this.config.heartbeatMs);
				if (settling === undefined || this.#stopping.signal.aborted) {
					this.#lastKnown.delete(name);
					throw error;
				}

				const delay = Math.min(settling, backoffDelay(attempt, trackerBackoff));
				this.emit('notice', `tracker came back ${seconds(Date.now() - this.#trackerBack!.at)} s ago and lists no holder of ${name} yet; asking again in ${seconds(delay)} s`);
				await sleep(delay);
			}
		}
	}

	/** Runs a tracker call, retrying with capped back-off while the tracker is down, up to --tracker-wait. */
	async #withTracker<T>(what: string, call: () => Promise<T>, waitMs = this.config.trackerWaitMs): Promise<T> {
		const started = Date.now();
		for (let attempt = 1; ; attempt++) {
			try {
				const result = await call();
				this.#trackerReached();
				return result;
			} catch (error) {
				if (!(error instanceof TrackerDownError)) {
					throw error;
				}

				this.#trackerLost = true;
				const delay = nextDelayWithin(attempt, Date.now() - started, waitMs, trackerBackoff);
				if (delay === undefined || this.#stopping.signal.aborted) {
					throw new TrackerDownError(waitMs > 0
						? `tracker ${this.config.tracker} still down after ${seconds(Date.now() - started)} s (--tracker-wait ${waitMs} ms)`
						: `tracker ${this.config.tracker} is down`, {cause: error});
				}

				this.#setStatus({state: 'waiting', retryAt: Date.now() + delay, reason: 'tracker down'});
				this.emit('retry', `tracker down, retrying in ${seconds(delay)} s (${what} waits up to ${seconds(waitMs)} s)`);
				await sleep(delay);
			}
		}
	}

	/** A tracker call got through after an outage: until the next heartbeat tells whether it restarted, assume it did. */
	#trackerReached(): void {
		if (this.#trackerLost) {
			this.#trackerLost = false;
			this.#trackerBack = {at: Date.now(), restarted: false};
		}
	}

	/** Sends the whole list; serialised so lists never arrive out of order. */
	async #register(): Promise<void> {
		const run = this.#syncing.catch(() => {}).then(async () => {
			try {
				const reply = await this.tracker.updateList(this.config.id, this.url, this.#files);
				this.#registered = true;
				this.#noteEpoch(reply.epoch);
			} catch (error) {
				if (error instanceof TrackerDownError) {
					this.#registered = false;
				}

				throw error;
			}
		});
		this.#syncing = run;
		return run;
	}

	#noteEpoch(epoch: string): void {
		const restarted = this.#epoch !== undefined && this.#epoch !== epoch;
		this.#epoch = epoch;
		if (restarted) {
			this.#trackerBack = {at: Date.now(), restarted: true};
		}

		this.#setStatus(restarted ? {state: 'restarted', epoch} : {state: 'connected', epoch});
	}

	/**
	 * Heartbeats every --heartbeat-ms; a tracker that does not know us (restart, expiry) gets the whole list at once.
	 * While the tracker is down, tries again with the tracker back-off, never waiting longer than one heartbeat.
	 */
	async #keepMembership(failuresSoFar: number): Promise<void> {
		const {signal} = this.#stopping;
		let failures = failuresSoFar;
		while (!signal.aborted) {
			try {
				await sleep(heartbeatDelay(failures, this.config.heartbeatMs), undefined, {signal});
			} catch {
				return;
			}

			try {
				const epochBefore = this.#epoch;
				const beat = this.#registered ? await this.tracker.heartbeat(this.config.id) : undefined;
				if (beat?.known && beat.epoch === this.#epoch) {
					this.#trackerReached();
					if (this.#trackerBack?.restarted === false) {
						// Same epoch: the tracker did not restart, so its answers stand as they are.
						this.#trackerBack = undefined;
					}

					this.#setStatus({state: 'connected', epoch: beat.epoch});
				} else {
					this.#trackerReached();
					// After #trackerReached: a new epoch marks the tracker as restarted.
					await this.#register();
					this.emit('retry', `${rejoinReason(this.#epoch, epochBefore, beat?.known)}: sent the whole list (${this.#files.entries.length} files)`);
				}

				failures = 0;
			} catch (error) {
				failures++;
				this.#trackerDown(failures, error);
			}
		}
	}

	/** The membership loop's call failed: wait with the tracker back-off, and say so. */
	#trackerDown(failures: number, error: unknown): void {
		if (!(error instanceof TrackerDownError)) {
			this.emit('notice', `tracker refused this peer: ${(error as Error).message}`);
			return;
		}

		this.#registered = false;
		this.#trackerLost = true;
		const retryIn = heartbeatDelay(failures, this.config.heartbeatMs);
		this.#setStatus({state: 'waiting', retryAt: Date.now() + retryIn, reason: 'tracker down'});
		// One line per step of the back-off, not one per retry once it is capped.
		if (failures === 1 || retryIn !== heartbeatDelay(failures - 1, this.config.heartbeatMs)) {
			this.emit('retry', `tracker down, retrying in ${seconds(retryIn)} s: ${error.message}`);
		}
	}

	/** The notices that go with a change (down, back) come from the membership loop and the waiting calls. */
	#setStatus(status: TrackerStatus): void {
		const same = status.state === this.trackerStatus.state && status.state !== 'waiting';
		this.trackerStatus = status;
		if (!same) {
			this.emit('tracker', status);
		}
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

function rejoinReason(epochNow: string | undefined, epochBefore: string | undefined, known: boolean | undefined): string {
	if (epochBefore !== undefined && epochNow !== epochBefore) {
		return 'tracker restarted (new epoch)';
	}

	return known === false ? 'tracker had dropped this peer' : 'tracker reachable again';
}

/** Milliseconds as seconds for a notice: 250 → "0.25", 5000 → "5". */
function seconds(ms: number): string {
	return String(Number((ms / 1000).toFixed(2)));
}
