/**
 * Replication of pinned files (README "Replication"): put places a file on its r XOR-closest
 * peers; every holder checks its pins each repair period, the closest holder of a file asks the
 * placement peers that lack a copy, a holder outside the placement releases once r closer copies
 * exist, and a holder that leaves gracefully hands its copies on first.
 */
import {randomBytes} from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {XfsError} from '../common/errors.js';
import type {FileEntry, FindReply, ReplicaRequestBody} from '../common/wire.js';
import {defaultPartSize} from '../core/part-geometry.js';
import {placementFor, rankByDistance} from '../core/placement.js';
import {planRepair, shouldRelease} from '../core/replica-plan.js';
import {askReplica, type ReplicaReply, type ReplicaRequest} from '../clients/peer-client.js';
import type {Pin, PinStore} from '../share/pin-store.js';
import {partialDir, stateDirName} from '../share/share-dir.js';

export type ReplicationOptions = {
	id: string;
	/** --replicas: r of a put. */
	replicas: number;
	/** --replica-space: bytes this peer may hold as copies for others (0: none; undefined: no limit). */
	replicaSpace?: number;
	/** --repair-ms: how often the pins are checked (with ±25 % jitter). */
	repairMs: number;
	/** --repair-grace-ms: how long a file must stay below r (or off its placement) before a repair starts. */
	graceMs: number;
	/** --handoff-ms: how long a graceful leave waits for its copies to be taken over. */
	handoffMs: number;
	secret?: string;
	random?: () => number;
	/** --part-size: a file larger than one part is copied along a chain (each new holder takes the previous one's parts as they land). */
	partSize?: number;
	/** Whether this peer's downloads take parts from partial holders (--no-swarm: false); without it a chain's `via` is ignored. */
	swarm?: boolean;
};

/** Who is live and who holds a name (with its pinned copies): the tracker, or without one the DHT's view (DhtPresence). */
export type ReplicaDirectory = {
	peers: () => Promise<ReadonlyArray<{id: string; url: string}>>;
	find: (name: string) => Promise<FindReply>;
};

export type ReplicationDeps = {
	tracker: ReplicaDirectory;
	pins: PinStore;
	/** The share dir's I/O path (undefined while withdrawn). */
	ioDir: () => string | undefined;
	listed: (name: string) => FileEntry | undefined;
	/** A file now in the share dir: listed and published. */
	placed: (entry: FileEntry) => Promise<void>;
	/** A name gone from the share dir: unlisted and published. */
	removed: (name: string) => Promise<void>;
	/** What is published with an entry changed (its pin): sent again. */
	touch: (name: string) => void;
	/** Sends pending changes to the tracker now. */
	publish: () => Promise<void>;
	/** Downloads one version of a file into `dir` with `locate` as its Find, md5-verified; says how many bytes it received. */
	fetch: (name: string, dir: string, locate: (name: string) => Promise<FindReply>, preferPartial?: string) => Promise<FetchSummary>;
	notice: (message: string) => void;
};

/** What one copy cost: bytes received (from partial holders among them, swarm) and bytes reused from an interrupted fetch. */
export type FetchSummary = {md5: string; received: number; fromPartial: number; reused: number};

export type PutResult = {name: string; md5: string; size: number; r: number; replicas: string[]; underReplicated?: string};
export type UnpinResult = {name: string; unpinned: string[]};

/** Copies fetched at once for others; more wait, up to maxQueued, beyond which a request is BUSY. */
const maxConcurrentFetches = 2;
const maxQueued = 64;
/** POST /replicas accepted per second (a token bucket of this many): beyond, 503 BUSY. */
const requestsPerSecond = 32;
const stagingDirName = 'replicas';
/** A chain: how long a new holder waits for the one before it to be listed with its first part before it fetches from the holders alone. */
const viaWaitMs = 5000;
/** A chain: the tracker is asked every 100 ms (at most the repair period) whether the previous peer is listed for this long, then every viaSlowPollMs. */
const viaFastPollForMs = 1500;
const viaSlowPollMs = 500;

export class Replication {
	readonly #options: ReplicationOptions;
	readonly #deps: ReplicationDeps;
	readonly #random: () => number;
	/** Names being fetched as copies, and those waiting to be. */
	readonly #fetching = new Set<string>();
	/** Names a put is placing right now: the loop leaves them to it. */
	readonly #putting = new Set<string>();
	readonly #queue: Array<{body: ReplicaRequestBody}> = [];
	/** name → since when this peer (as coordinator) has seen it below r or off its placement. */
	readonly #pendingSince = new Map<string, number>();
	/** `${name}\0${id}` → when that peer was last asked for a copy. */
	readonly #asked = new Map<string, number>();
	/** name → id → when that peer refused it. */
	readonly #refused = new Map<string, Map<string, number>>();
	#tokens = requestsPerSecond;
	#tokensAt = Date.now();
	#timer: NodeJS.Timeout | undefined;
	#ticking = false;
	#leaving = false;
	#stopped = false;

	constructor(options: ReplicationOptions, deps: ReplicationDeps) {
		this.#options = options;
		this.#deps = deps;
		this.#random = options.random ?? Math.random;
	}

	/** True while a graceful leave withdraws this peer's pins (it still serves the files). */
	get leaving(): boolean {
		return this.#leaving;
	}

	/** The entry as published: with `pinned: r` when this peer keeps that version pinned. */
	decorate(entry: FileEntry): FileEntry {
		const pin = this.#deps.pins.pins.get(entry.name);
		return pin?.md5 === entry.md5 && !this.#leaving ? {...entry, pinned: pin.r} : entry;
	}

	get hasPins(): boolean {
		return this.#deps.pins.pins.size > 0;
	}

	start(): void {
		// Copies half-fetched before a crash are not resumed: the coordinator asks again.
		const dir = this.#deps.ioDir();
		if (dir) {
			void fs.rm(path.join(dir, stateDirName, stagingDirName), {recursive: true, force: true}).catch(() => {});
		}

		this.#schedule();
	}

	#schedule(): void {
		if (this.#stopped) {
			return;
		}

		const delay = this.#options.repairMs * (0.75 + (this.#random() * 0.5));
		this.#timer = setTimeout(() => {
			void this.tick().finally(() => {
				this.#schedule();
			});
		}, delay).unref();
	}

	/** One check of every pinned or put file; one at a time, so a slow tracker never piles them up. */
	async tick(): Promise<void> {
		if (this.#ticking || this.#leaving || this.#stopped) {
			return;
		}

		this.#ticking = true;
		try {
			const names = new Set([...this.#deps.pins.pins.keys(), ...this.#deps.pins.puts.keys()]);
			if (names.size === 0) {
				return;
			}

			let live = (await this.#deps.tracker.peers()).map(peer => peer.id);
			let liveAt = Date.now();
			for (const name of names) {
				if (this.#putting.has(name)) {
					continue;
				}

				// A long check of many pins works from a list of live peers at most one repair period old.
				if (Date.now() - liveAt > this.#options.repairMs) {
					live = (await this.#deps.tracker.peers()).map(peer => peer.id);
					liveAt = Date.now();
				}

				await this.#check(name, live).catch((error: unknown) => {
					if (!(error instanceof XfsError && (error.code === 'TRACKER_DOWN' || error.code === 'WARMING_UP'))) {
						this.#deps.notice(`replication: checking ${name} failed: ${(error as Error).message}`);
					}
				});
			}
		} catch {
			// The tracker is down: the next tick tries again; pins are kept meanwhile.
		} finally {
			this.#ticking = false;
		}
	}

	/** The pin as the share dir now has it: following an edit of this peer's own file, or gone with the file. */
	async #pinNow(name: string, mine: FileEntry | undefined): Promise<Pin | undefined> {
		const {pins} = this.#deps;
		const pin = pins.pins.get(name);
		if (pin && mine && mine.md5 !== pin.md5 && pin.role === 'own') {
			// This peer's own file changed (an edit): its pin follows its file.
			const moved = {...pin, md5: mine.md5, size: mine.size};
			await pins.pin(name, moved);
			this.#deps.touch(name);
			return moved;
		}

		if (pin && !mine && !this.#fetching.has(name)) {
			if (await this.#onDiskUnlisted(name, pin)) {
				return pin;
			}

			// The copy is gone from the share dir (deleted by hand): the pin goes with it; repair puts a copy back elsewhere.
			await pins.unpin(name);
			this.#deps.notice(`replication: ${name} is no longer in the share dir; dropped its pin`);
			return undefined;
		}

		return pin;
	}

	async #check(name: string, peers: string[]): Promise<void> {
		const mine = this.#deps.listed(name);
		const pin = await this.#pinNow(name, mine);
		const put = this.#deps.pins.puts.get(name);

		// The version kept: the owner's own file for a put, else the pinned one.
		const version = put && mine ? {md5: mine.md5, size: mine.size, r: put.r} : (pin ? {md5: pin.md5, size: pin.size, r: pin.r} : undefined);
		if (!version) {
			return;
		}

		const found = await this.#find(name);
		const copies = found?.md5 === version.md5 ? (found.copies ?? []) : [];
		// Find lists live holders only, and is newer than the list of peers: a holder it names is live (a peer back from a restart).
		const live = [...new Set([...peers, ...copies])];
		if (pin && !put && found && found.md5 !== pin.md5 && found.pinned !== undefined && (found.copies?.length ?? 0) >= pin.r) {
			// Another version has r pinned copies (the owner edited the file): this old copy goes.
			await this.#release(name, pin, `${found.copies!.length} copies of its new version exist`);
			return;
		}

		if (pin && !put && found && found.md5 !== pin.md5) {
			// Another version is being spread: wait for it (the owner pushes it to the placement peers).
			return;
		}

		const iHold = mine?.md5 === version.md5;
		const plan = planRepair({name, r: version.r, me: this.#options.id, live, copies, iHold, refused: this.#refusedOf(name)});
		if (plan.coordinator) {
			await this.#coordinate({name, ...version, owner: pin?.owner ?? (put ? this.#options.id : undefined)}, plan, copies);
		}

		if (pin?.md5 === version.md5 && !plan.placement.includes(this.#options.id) && shouldRelease({name, me: this.#options.id, copies, live, r: version.r})) {
			await this.#release(name, pin, `${version.r} closer peers hold verified copies`);
		}
	}

	async #coordinate(version: {name: string; md5: string; size: number; r: number; owner: string | undefined}, plan: ReturnType<typeof planRepair>, copies: string[]): Promise<void> {
		const {name, owner} = version;
		const now = Date.now();
		if (plan.missing.length === 0) {
			this.#pendingSince.delete(name);
			return;
		}

		if (plan.missing.includes(this.#options.id)) {
			// This peer is in the placement and holds the file as its own: it pins it (no transfer).
			const mine = this.#deps.listed(name);
			if (mine?.md5 === version.md5) {
				await this.#deps.pins.pin(name, {md5: version.md5, size: version.size, r: version.r, role: 'own', ...(owner ? {owner} : {})});
				this.#deps.touch(name);
			}
		}

		const others = plan.missing.filter(id => id !== this.#options.id);
		if (others.length === 0) {
			return;
		}

		const since = this.#pendingSince.get(name) ?? now;
		this.#pendingSince.set(name, since);
		// A put's own push (this peer put it and no copy is pinned yet) and an edit need no grace; a repair waits it out.
		if (now - since < this.#options.graceMs) {
			return;
		}

		const askAgainMs = Math.max(4 * this.#options.repairMs, this.#options.graceMs, 2000);
		const due = others.filter(id => now - (this.#asked.get(`${name}\0${id}`) ?? 0) >= askAgainMs);
		if (due.length === 0) {
			return;
		}

		const chain = this.#chain(due, version.size);
		this.#deps.notice(`repair: ${name} has ${copies.length}/${version.r} copies on its placement; asking ${due.map(id => (chain.has(id) ? `${id} (via ${chain.get(id)!})` : id)).join(', ')} to take one`);
		const urls = await this.#urls();
		await Promise.all(due.map(async id => {
			this.#asked.set(`${name}\0${id}`, now);
			const via = chain.get(id);
			const reply = await this.#ask(urls.get(id), {name, md5: version.md5, size: version.size, r: version.r, ...(owner ? {owner} : {}), ...(via ? {via} : {})});
			if (reply && !reply.accepted) {
				this.#refuse(name, id);
				this.#deps.notice(`repair: ${id} refused ${name}: ${reply.reason ?? 'no reason given'}; the next closest peer takes its place`);
			}
		}));
	}

	/**
	 * New holders of a file larger than one part, asked at once, form a chain: each takes the parts
	 * of the one before it as they land (swarm), so the holders upload the file once, not once a copy.
	 */
	#chain(targets: readonly string[], size: number): Map<string, string> {
		const chain = new Map<string, string>();
		const remote = targets.filter(target => target !== this.#options.id);
		if (this.#chainable(size)) {
			for (let index = 1; index < remote.length; index++) {
				chain.set(remote[index]!, remote[index - 1]!);
			}
		}

		return chain;
	}

	/** Whether copies of a file this size go along a chain: more than one part (a one-part file has nothing to pass on early). */
	#chainable(size: number): boolean {
		return size > (this.#options.partSize ?? defaultPartSize);
	}

	async #release(name: string, pin: Pin, why: string): Promise<void> {
		await this.#deps.pins.unpin(name);
		const dir = this.#deps.ioDir();
		if (pin.role === 'replica' && dir) {
			// A copy taken for others goes: at rest a file has r copies plus its owner's own.
			await fs.rm(path.join(dir, name), {force: true});
			await this.#deps.removed(name);
			this.#deps.notice(`replication: released the copy of ${name} (removed it): ${why}`);
		} else {
			this.#deps.touch(name);
			this.#deps.notice(`replication: released the pin of ${name} (kept it as an ordinary shared file): ${why}`);
		}
	}

	/** Whether this peer holds its pinned copy: listed, or on disk but not listed yet (the share's index lags a rename: hashed again and listed, not fetched again). */
	async #holds(name: string, pin: Pin, mine: FileEntry | undefined): Promise<boolean> {
		if (mine) {
			return mine.md5 === pin.md5;
		}

		return !this.#fetching.has(name) && this.#onDiskUnlisted(name, pin);
	}

	/**
	 * Whether the pinned copy, not listed, is in the share dir as a file of the pinned size (the share's index lags a rename):
	 * if so it is hashed again and listed (its md5 checked then), and no byte is fetched again.
	 */
	async #onDiskUnlisted(name: string, pin: Pin): Promise<boolean> {
		const dir = this.#deps.ioDir();
		const stats = dir ? await fs.stat(path.join(dir, name)).catch(() => undefined) : undefined;
		const there = stats?.isFile() === true && stats.size === pin.size;
		if (there) {
			void this.#deps.removed(name);
		}

		return there;
	}

	/** Find, with a missing name as undefined. */
	async #find(name: string): Promise<FindReply | undefined> {
		try {
			return await this.#deps.tracker.find(name);
		} catch (error) {
			if (error instanceof XfsError && error.code === 'NOT_FOUND') {
				return undefined;
			}

			throw error;
		}
	}

	async #urls(): Promise<Map<string, string>> {
		return new Map((await this.#deps.tracker.peers()).map(peer => [peer.id, peer.url]));
	}

	async #ask(url: string | undefined, request: ReplicaRequest): Promise<ReplicaReply | undefined> {
		if (!url) {
			return undefined;
		}

		try {
			return await askReplica(url, request, {secret: this.#options.secret, requesterId: this.#options.id});
		} catch {
			// Down or busy: asked again after askAgainMs, or another peer takes its place once the tracker drops it.
			return undefined;
		}
	}

	#refusedOf(name: string): Set<string> {
		const refused = this.#refused.get(name);
		const now = Date.now();
		const keepMs = Math.max(30 * this.#options.repairMs, 10_000);
		const ids = new Set<string>();
		for (const [id, at] of refused ?? []) {
			if (now - at < keepMs) {
				ids.add(id);
			} else {
				refused!.delete(id);
			}
		}

		return ids;
	}

	#refuse(name: string, id: string): void {
		let refused = this.#refused.get(name);
		if (!refused) {
			refused = new Map();
			this.#refused.set(name, refused);
		}

		refused.set(id, Date.now());
	}

	/**
	 * put: keeps the file (already in the share dir and listed) on its r placement peers and answers
	 * once their copies are verified (listed as pinned at the tracker), or the wait ends.
	 */
	async put(entry: FileEntry, r: number, waitMs: number): Promise<PutResult> {
		const {name, md5, size} = entry;
		const {id} = this.#options;
		const peers = await this.#deps.tracker.peers();
		const live = peers.map(peer => peer.id);
		if (!live.includes(id)) {
			live.push(id);
		}

		if (live.length < 2) {
			throw new XfsError('TOO_FEW_PEERS', `no other live peer to keep ${name} on (r = ${r})`);
		}

		this.#putting.add(name);
		let verified: string[];
		try {
			await this.#deps.pins.put(name, {r});
			const accepted = await this.#spread({name, md5, size, r, owner: id}, live, new Map(peers.map(peer => [peer.id, peer.url])), 'put');
			await this.#deps.publish().catch(() => {});
			verified = await this.#waitForCopies(name, md5, accepted, waitMs);
		} finally {
			this.#putting.delete(name);
		}

		const replicas = rankByDistance(name, verified);
		const result: PutResult = {name, md5, size, r, replicas};
		if (replicas.length < r) {
			result.underReplicated = `${replicas.length}/${r}`;
		}

		return result;
	}

	/**
	 * Asks down the ranking of `live` until r peers accepted a copy or every one was asked; a peer
	 * that refuses (or does not answer) makes room for the next closest. Returns those that accepted.
	 */
	async #spread(request: ReplicaRequest, live: string[], urls: Map<string, string>, what: string): Promise<string[]> {
		const {id} = this.#options;
		const {name, r} = request;
		const refused = new Set<string>();
		const accepted: string[] = [];
		for (let placement = placementFor(name, live, r, {refused}); ; placement = placementFor(name, live, r, {refused})) {
			const toAsk = placement.filter(target => !accepted.includes(target));
			if (toAsk.length === 0) {
				return accepted;
			}

			const chain = this.#chain(toAsk, request.size);
			await Promise.all(toAsk.map(async target => {
				if (target === id) {
					await this.#deps.pins.pin(name, {md5: request.md5, size: request.size, r, role: 'own', ...(request.owner ? {owner: request.owner} : {})});
					this.#deps.touch(name);
					accepted.push(target);
					return;
				}

				const via = chain.get(target);
				const reply = await this.#ask(urls.get(target), via ? {...request, via} : request);
				if (reply?.accepted) {
					accepted.push(target);
				} else {
					refused.add(target);
					this.#refuse(name, target);
					if (reply) {
						this.#deps.notice(`${what}: ${target} refused ${name}: ${reply.reason ?? 'no reason given'}`);
					}
				}
			}));
		}
	}

	/** Polls Find until every one of `ids` lists this version pinned, or the wait ends; returns those that do. */
	async #waitForCopies(name: string, md5: string, ids: string[], waitMs: number): Promise<string[]> {
		const deadline = Date.now() + waitMs;
		let held: string[] = [];
		for (;;) {
			const found = await this.#find(name).catch(() => undefined);
			held = found?.md5 === md5 ? ids.filter(id => found.copies?.includes(id)) : [];
			if (held.length === ids.length || Date.now() >= deadline) {
				return held;
			}

			await sleep(Math.min(100, this.#options.repairMs));
		}
	}

	/** unpin: this peer stops pushing the file; every holder (told through POST /replicas) keeps its copy as an ordinary file. */
	async unpin(name: string): Promise<UnpinResult> {
		const {pins} = this.#deps;
		const put = pins.puts.get(name);
		const pin = pins.pins.get(name);
		const found = await this.#find(name);
		if (!put && !pin && found?.pinned === undefined) {
			throw new XfsError('NOT_FOUND', `${name} is not pinned`);
		}

		await pins.put(name, undefined);
		const unpinned: string[] = [];
		if (pin) {
			// Kept as an ordinary file, whatever its role: unpin never deletes.
			await pins.unpin(name);
			this.#deps.touch(name);
			unpinned.push(this.#options.id);
		}

		if (found?.copies) {
			const urls = await this.#urls();
			await Promise.all(found.copies.filter(id => id !== this.#options.id).map(async id => {
				const reply = await this.#ask(urls.get(id), {name, md5: found.md5, size: found.size, r: found.pinned ?? 1, owner: this.#options.id, unpin: true});
				if (reply?.accepted) {
					unpinned.push(id);
				}
			}));
		}

		await this.#deps.publish().catch(() => {});
		return {name, unpinned: unpinned.sort()};
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

		if (this.#leaving || this.#stopped) {
			return {status: 200, body: {accepted: false, reason: `${this.#options.id} is leaving`}};
		}

		if (pin?.md5 === md5 && await this.#holds(name, pin, mine)) {
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

			if (this.#stopped) {
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
		const chained = via !== undefined && via !== this.#options.id && this.#options.swarm !== false && this.#chainable(size);
		return chained && await this.#awaitVia(name, md5, via) ? via : undefined;
	}

	/**
	 * A chain: waits until the peer before this one is listed holding that version, whole or in part
	 * (after its first part), so this copy takes its parts; false when it is not live or not listed within viaWaitMs.
	 */
	async #awaitVia(name: string, md5: string, via: string): Promise<boolean> {
		const started = Date.now();
		const deadline = started + Math.max(viaWaitMs, 10 * this.#options.repairMs);
		for (let round = 0; Date.now() < deadline && !this.#stopped; round++) {
			const found = await this.#find(name).catch(() => undefined);
			if (found?.md5 === md5 && (found.peers.some(peer => peer.id === via) || found.partial?.some(peer => peer.id === via))) {
				return true;
			}

			if (round % 5 === 4 && !(await this.#urls().catch(() => new Map<string, string>())).has(via)) {
				return false;
			}

			// The previous peer is listed a part's transfer after it was asked: often at first, then seldom (a via that never comes costs the tracker few Finds).
			await sleep(Date.now() - started < viaFastPollForMs ? Math.min(100, this.#options.repairMs) : viaSlowPollMs);
		}

		return false;
	}

	/** The holders of exactly that version: Find's when it names it, else the owner (an edit it has not spread yet). */
	async #locateVersion(name: string, md5: string, size: number, owner: string | undefined): Promise<FindReply> {
		const found = await this.#find(name);
		if (found?.md5 === md5) {
			return found;
		}

		const url = owner && owner !== this.#options.id ? (await this.#urls()).get(owner) : undefined;
		if (!url) {
			throw new XfsError('NOT_FOUND', `no live holder of ${name} with md5 ${md5}`);
		}

		return {name, md5, size, peers: [{id: owner!, url}]};
	}

	/**
	 * Graceful leave: withdraws this peer's pins (it keeps serving the files), asks the next closest
	 * peers to take them, and waits (at most --handoff-ms) until each file has its r copies elsewhere.
	 */
	async handOff(): Promise<void> {
		this.#stopTimer();
		const held = [...this.#deps.pins.pins].filter(([name, pin]) => this.#deps.listed(name)?.md5 === pin.md5);
		if (held.length === 0) {
			this.#stopped = true;
			return;
		}

		const {id, handoffMs} = this.#options;
		this.#deps.notice(`leaving: handing on ${held.length} pinned file(s) first (waits up to ${handoffMs / 1000} s)`);
		this.#leaving = true;
		for (const [name] of held) {
			this.#deps.touch(name);
		}

		const deadline = Date.now() + handoffMs;
		try {
			await this.#deps.publish();
			const peers = await this.#deps.tracker.peers();
			const live = peers.map(peer => peer.id).filter(peer => peer !== id);
			const urls = new Map(peers.map(peer => [peer.id, peer.url]));
			const results = await Promise.all(held.map(async ([name, pin]) => {
				const placement = await this.#spread({name, md5: pin.md5, size: pin.size, r: pin.r, ...(pin.owner ? {owner: pin.owner} : {})}, live, urls, 'leaving');
				const verified = await this.#waitForCopies(name, pin.md5, placement, Math.max(0, deadline - Date.now()));
				return {name, verified: verified.length, of: Math.min(pin.r, live.length)};
			}));
			const short = results.filter(result => result.verified < result.of);
			this.#deps.notice(short.length === 0
				? `leaving: handed on ${results.length} pinned file(s)`
				: `leaving: ${short.length} file(s) not handed on within ${handoffMs / 1000} s (${short.map(result => `${result.name} ${result.verified}/${result.of}`).join(', ')}); repair takes over`);
		} catch (error) {
			this.#deps.notice(`leaving: could not hand on pinned files: ${(error as Error).message}`);
		} finally {
			this.#stopped = true;
		}
	}

	#stopTimer(): void {
		clearTimeout(this.#timer);
		this.#timer = undefined;
	}

	stop(): void {
		this.#stopped = true;
		this.#stopTimer();
	}
}

/** Copies a file from outside the share dir into it, whole or not at all (a temp file in .xfs/partial, then linked into place). */
export async function copyIntoShare(source: string, ioDir: string, name: string): Promise<void> {
	const temp = path.join(partialDir(ioDir), `${name}.${randomBytes(6).toString('hex')}.put`);
	await fs.mkdir(path.dirname(temp), {recursive: true});
	try {
		await fs.copyFile(source, temp);
		const handle = await fs.open(temp, 'r');
		try {
			await handle.sync();
		} finally {
			await handle.close();
		}

		await fs.link(temp, path.join(ioDir, name));
	} finally {
		await fs.rm(temp, {force: true});
	}
}
