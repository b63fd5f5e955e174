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
import type {FileEntry, ReplicaRequestBody} from '../common/wire.js';
import {placementFor, rankByDistance} from '../core/placement.js';
import {planRepair, shouldRelease} from '../core/replica-plan.js';
import {askReplica, type ReplicaReply, type ReplicaRequest} from '../clients/peer-client.js';
import type {Pin} from '../share/pin-store.js';
import {partialDir, stateDirName} from '../share/share-dir.js';
import {chainable, findOrNone, peerUrls, ReplicaIntake, stagingDirName} from './replica-intake.js';
import type {ReplicationDeps, ReplicationOptions} from './replication-types.js';

export type {FetchSummary, ReplicaDirectory, ReplicationDeps, ReplicationOptions} from './replication-types.js';

export type PutResult = {name: string; md5: string; size: number; r: number; replicas: string[]; underReplicated?: string};
export type UnpinResult = {name: string; unpinned: string[]};

export class Replication {
	readonly #options: ReplicationOptions;
	readonly #deps: ReplicationDeps;
	readonly #random: () => number;
	/** The holder's side: POST /replicas, the copies fetched for others. */
	readonly #intake: ReplicaIntake;
	/** Names a put is placing right now: the loop leaves them to it. */
	readonly #putting = new Set<string>();
	/** name → since when this peer (as coordinator) has seen it below r or off its placement. */
	readonly #pendingSince = new Map<string, number>();
	/** `${name}\0${id}` → when that peer was last asked for a copy. */
	readonly #asked = new Map<string, number>();
	/** name → the last repair notice said of it. */
	readonly #lastNotice = new Map<string, string>();
	/** name → id → when that peer refused it. */
	readonly #refused = new Map<string, Map<string, number>>();
	#timer: NodeJS.Timeout | undefined;
	#ticking = false;
	#leaving = false;
	#stopped = false;

	constructor(options: ReplicationOptions, deps: ReplicationDeps) {
		this.#options = options;
		this.#deps = deps;
		this.#random = options.random ?? Math.random;
		this.#intake = new ReplicaIntake(options, deps, () => ({leaving: this.#leaving, stopped: this.#stopped}));
	}

	/** POST /replicas: see ReplicaIntake. */
	async onRequest(body: ReplicaRequestBody): Promise<{status: number; body: unknown}> {
		return this.#intake.onRequest(body);
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

		if (pin && !mine && !this.#intake.fetching(name)) {
			if (await this.#intake.onDiskUnlisted(name, pin)) {
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

		const found = await findOrNone(this.#deps.tracker, name);
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
			this.#lastNotice.delete(name);
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
		const notice = `repair: ${name} has ${copies.length}/${version.r} copies on its placement; asking ${due.map(id => (chain.has(id) ? `${id} (via ${chain.get(id)!})` : id)).join(', ')} to take one`;
		if (this.#lastNotice.get(name) !== notice) {
			// Asked again with nothing changed (the copies are still being fetched): said once, not every askAgainMs.
			this.#lastNotice.set(name, notice);
			this.#deps.notice(notice);
		}

		const urls = await peerUrls(this.#deps.tracker);
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
		if (chainable(size, this.#options.partSize)) {
			for (let index = 1; index < remote.length; index++) {
				chain.set(remote[index]!, remote[index - 1]!);
			}
		}

		return chain;
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
			const found = await findOrNone(this.#deps.tracker, name).catch(() => undefined);
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
		const found = await findOrNone(this.#deps.tracker, name);
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
			const urls = await peerUrls(this.#deps.tracker);
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
