/**
 * Replication, the holder's side (README "Replication"): POST /replicas asks this peer to keep a copy.
 * Requests pass a token bucket and a bounded queue; at most two copies are fetched at once, each
 * md5-verified in a staging dir, then moved into the share dir, pinned and published. A copy asked
 * with `via` (a chain) waits for that peer to be listed and takes its parts as they land.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {XfsError} from '../common/errors.js';
import type {FileEntry, FindReply, ReplicaRequestBody} from '../common/wire.js';
import {defaultPartSize} from '../core/part-geometry.js';
import type {Pin} from '../share/pin-store.js';
import {partialDir, stateDirName} from '../share/share-dir.js';
import type {ReplicaDirectory, ReplicationDeps, ReplicationOptions} from './replication-types.js';

/** Copies fetched at once for others; more wait, up to maxQueued, beyond which a request is BUSY. */
const maxConcurrentFetches = 2;
const maxQueued = 64;
/** POST /replicas accepted per second (a token bucket of this many): beyond, 503 BUSY. */
const requestsPerSecond = 32;
/** Under the share dir's state dir: copies being fetched (cleared at start: a half-fetched copy is asked for again). */
export const stagingDirName = 'replicas';
/** A chain: how long a new holder waits for the one before it to be listed with its first part before it fetches from the holders alone. */
const viaWaitMs = 5000;
/** A chain: the tracker is asked whether the previous peer is listed every 100 ms (or every repair period, if shorter) for this long, then every viaSlowPollMs. */
const viaFastPollForMs = 1500;
const viaSlowPollMs = 500;
/** A chain: whether the previous peer is still live (the tracker's list of peers) is asked at most this often while waiting for it. */
const viaLiveCheckMs = 1000;

/** Whether copies of a file this size go along a chain: more than one part (a one-part file has nothing to pass on early). */
export function chainable(size: number, partSize = defaultPartSize): boolean {
	return size > partSize;
}

/** Find, with a missing name as undefined. */
export async function findOrNone(directory: ReplicaDirectory, name: string): Promise<FindReply | undefined> {
	try {
		return await directory.find(name);
	} catch (error) {
		if (error instanceof XfsError && error.code === 'NOT_FOUND') {
			return undefined;
		}

		throw error;
	}
}

/** The live peers' URLs by machID. */
export async function peerUrls(directory: ReplicaDirectory): Promise<Map<string, string>> {
	return new Map((await directory.peers()).map(peer => [peer.id, peer.url]));
}

export class ReplicaIntake {
	readonly #options: ReplicationOptions;
	readonly #deps: ReplicationDeps;
	/** Whether the peer is leaving (it takes no copies) or stopped (a fetch in flight is not placed). */
	readonly #status: () => {leaving: boolean; stopped: boolean};
	/** Names being fetched as copies. */
	readonly #fetching = new Set<string>();
	/** Requests waiting for a fetch slot. */
	readonly #queue: Array<{body: ReplicaRequestBody}> = [];
	#tokens = requestsPerSecond;
	#tokensAt = Date.now();

	constructor(options: ReplicationOptions, deps: ReplicationDeps, status: () => {leaving: boolean; stopped: boolean}) {
		this.#options = options;
		this.#deps = deps;
		this.#status = status;
	}

	/** Whether a copy of the name is being fetched here now. */
	fetching(name: string): boolean {
		return this.#fetching.has(name);
	}

	/** Whether this peer holds its pinned copy: listed, or on disk but not listed yet (the share's index lags a rename: hashed again and listed, not fetched again). */
	async holds(name: string, pin: Pin, mine: FileEntry | undefined): Promise<boolean> {
		if (mine) {
			return mine.md5 === pin.md5;
		}

		return !this.#fetching.has(name) && this.onDiskUnlisted(name, pin);
	}

	/**
	 * Whether the pinned copy, not listed, is in the share dir as a file of the pinned size (the share's index lags a rename):
	 * if so it is hashed again and listed (its md5 checked then), and no byte is fetched again.
	 */
	async onDiskUnlisted(name: string, pin: Pin): Promise<boolean> {
		const dir = this.#deps.ioDir();
		const stats = dir ? await fs.stat(path.join(dir, name)).catch(() => undefined) : undefined;
		const there = stats?.isFile() === true && stats.size === pin.size;
		if (there) {
			void this.#deps.removed(name);
		}

		return there;
	}

	/** POST /replicas: the asker is not authenticated (beyond --secret): every answer costs this peer at most one md5-verified fetch within --replica-space. */
	async onRequest(body: ReplicaRequestBody): Promise<{status: number; body: unknown}> {
		if (!this.#takeToken()) {
			return {status: 503, body: {error: {code: 'BUSY', message: 'too many replica requests; try again shortly'}}};
		}

		if (body.unpin) {
			return this.#onUnpin(body);
		}

		const {name, md5, size, r} = body;
		const {pins} = this.#deps;
		const pin = pins.pins.get(name);
		const mine = this.#deps.listed(name);

		if (this.#status().leaving || this.#status().stopped) {
			return {status: 200, body: {accepted: false, reason: `${this.#options.id} is leaving`}};
		}

		if (pin?.md5 === md5 && await this.holds(name, pin, mine)) {
			return {status: 200, body: {accepted: true, state: 'have'}};
		}

		if (mine?.md5 === md5 && !pin) {
			// Its own copy of that version: pinned as it is, nothing to fetch.
			await pins.pin(name, {md5, size, r, role: 'own', ...(body.owner ? {owner: body.owner} : {})});
			this.#deps.touch(name);
			await this.#deps.publish().catch(() => {});
			return {status: 200, body: {accepted: true, state: 'have'}};
		}

		if (mine && !pin) {
			return {status: 200, body: {accepted: false, reason: `${this.#options.id} has another file named ${name} of its own`}};
		}

		if (pin && pin.md5 !== md5 && pin.owner && body.owner !== pin.owner) {
			return {status: 200, body: {accepted: false, reason: `${name} here is pinned for ${pin.owner}: only its owner moves it to another version`}};
		}

		if (this.#fetching.has(name) || this.#queue.some(queued => queued.body.name === name)) {
			return {status: 202, body: {accepted: true, state: 'fetching'}};
		}

		const space = this.#options.replicaSpace;
		const held = pins.replicaBytes - (pin?.role === 'replica' ? pin.size : 0);
		if (space !== undefined && held + size > space) {
			return {status: 200, body: {accepted: false, reason: space === 0 ? `${this.#options.id} holds no copies for others (--replica-space 0)` : `over --replica-space (${held} of ${space} bytes held)`}};
		}

		if (this.#queue.length >= maxQueued) {
			return {status: 503, body: {error: {code: 'BUSY', message: `${maxQueued} copies are waiting to be fetched here`}}};
		}

		this.#queue.push({body});
		this.#drain();
		return {status: 202, body: {accepted: true, state: 'fetching'}};
	}

	async #onUnpin(body: ReplicaRequestBody): Promise<{status: number; body: unknown}> {
		const {name} = body;
		const pin = this.#deps.pins.pins.get(name);
		if (!pin) {
			return {status: 200, body: {accepted: true, state: 'unpinned'}};
		}

		if (pin.owner && body.from !== pin.owner && body.owner !== pin.owner) {
			return {status: 200, body: {accepted: false, reason: `only ${pin.owner}, who put ${name}, may unpin it`}};
		}

		await this.#deps.pins.unpin(name);
		this.#deps.touch(name);
		this.#deps.notice(`replication: ${body.from ?? 'a peer'} unpinned ${name}; kept it as an ordinary shared file`);
		await this.#deps.publish().catch(() => {});
		return {status: 200, body: {accepted: true, state: 'unpinned'}};
	}

	#takeToken(): boolean {
		const now = Date.now();
		this.#tokens = Math.min(requestsPerSecond, this.#tokens + ((now - this.#tokensAt) / 1000 * requestsPerSecond));
		this.#tokensAt = now;
		if (this.#tokens < 1) {
			return false;
		}

		this.#tokens--;
		return true;
	}

	#drain(): void {
		while (this.#fetching.size < maxConcurrentFetches && this.#queue.length > 0) {
			const {body} = this.#queue.shift()!;
			this.#fetching.add(body.name);
			void this.#take(body).finally(() => {
				this.#fetching.delete(body.name);
				this.#drain();
			});
		}
	}

	/** Fetches the named version (md5-verified) into the staging dir, then moves it into the share dir and pins it. */
	async #take(body: ReplicaRequestBody): Promise<void> {
		const {name, md5, size, r} = body;
		const dir = this.#deps.ioDir();
		if (!dir) {
			return;
		}

		const staging = path.join(dir, stateDirName, stagingDirName);
		const started = Date.now();
		try {
			await fs.mkdir(partialDir(staging), {recursive: true});
			await fs.rm(path.join(staging, name), {force: true});
			const via = await this.#chainedAfter(body);
			const cost = await this.#deps.fetch(name, staging, async file => this.#locateVersion(file, md5, size, body.owner), via);
			const fetched = path.join(staging, name);
			// The download hashed the whole file as it reached the disk, against the md5 it was given: it must be this version.
			if (cost.md5 !== md5) {
				throw new XfsError('CHECKSUM_MISMATCH', `the copy of ${name} does not match md5 ${md5}`);
			}

			if (this.#status().stopped) {
				await fs.rm(fetched, {force: true});
				return;
			}

			// The size as fetched, not as claimed: --replica-space counts what is on disk.
			const {size: fetchedSize} = await fs.stat(fetched);
			const before = this.#deps.pins.pins.get(name);
			await this.#deps.pins.pin(name, {md5, size: fetchedSize, r, role: before?.role ?? 'replica', ...(body.owner ? {owner: body.owner} : {})});
			await fs.rename(fetched, path.join(dir, name));
			await this.#deps.placed({name, md5, size: fetchedSize});
			await this.#deps.publish().catch(() => {});
			this.#deps.notice(`replication: took a copy of ${name} (${fetchedSize} bytes, md5 ${md5}) in ${Date.now() - started} ms${body.from ? ` for ${body.from}` : ''}${via ? ` via ${via}` : ''}; received ${cost.received} bytes (${cost.fromPartial} from partial holders), reused ${cost.reused}`);
		} catch (error) {
			this.#deps.notice(`replication: could not take a copy of ${name}: ${(error as Error).message}`);
		}
	}

	/** The peer before this one in a chain, once it has a part to give (undefined: none, or fetch from the holders alone). */
	async #chainedAfter({name, md5, size, via}: ReplicaRequestBody): Promise<string | undefined> {
		const chained = via !== undefined && via !== this.#options.id && this.#options.swarm !== false && chainable(size, this.#options.partSize);
		return chained && await this.#awaitVia(name, md5, via) ? via : undefined;
	}

	/**
	 * A chain: waits until the peer before this one is listed holding that version, whole or in part
	 * (after its first part), so this copy takes its parts; false when it is not live or not listed within viaWaitMs.
	 */
	async #awaitVia(name: string, md5: string, via: string): Promise<boolean> {
		const started = Date.now();
		const deadline = started + Math.max(viaWaitMs, 10 * this.#options.repairMs);
		let checkedLiveAt = started;
		while (Date.now() < deadline && !this.#status().stopped) {
			const found = await findOrNone(this.#deps.tracker, name).catch(() => undefined);
			if (found?.md5 === md5 && (found.peers.some(peer => peer.id === via) || found.partial?.some(peer => peer.id === via))) {
				return true;
			}

			if (Date.now() - checkedLiveAt >= viaLiveCheckMs) {
				checkedLiveAt = Date.now();
				if (!(await peerUrls(this.#deps.tracker).catch(() => new Map<string, string>())).has(via)) {
					return false;
				}
			}

			// The previous peer is listed a part's transfer after it was asked: often at first, then seldom (a via that never comes costs the tracker few Finds).
			const pauseMs = Date.now() - started < viaFastPollForMs ? Math.min(100, this.#options.repairMs) : viaSlowPollMs;
			await sleep(Math.max(0, Math.min(pauseMs, deadline - Date.now())));
		}

		return false;
	}

	/** The holders of exactly that version: Find's when it names it, else the owner (an edit it has not spread yet). */
	async #locateVersion(name: string, md5: string, size: number, owner: string | undefined): Promise<FindReply> {
		const found = await findOrNone(this.#deps.tracker, name);
		if (found?.md5 === md5) {
			return found;
		}

		const url = owner && owner !== this.#options.id ? (await peerUrls(this.#deps.tracker)).get(owner) : undefined;
		if (!url) {
			throw new XfsError('NOT_FOUND', `no live holder of ${name} with md5 ${md5}`);
		}

		return {name, md5, size, peers: [{id: owner!, url}]};
	}
}
