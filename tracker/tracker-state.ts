/**
 * The tracker's soft state: which peer holds which files, and where each peer
 * listens. A plain class with no I/O; time is passed in so tests control it.
 */
import {XfsError} from '../source/common/errors.js';
import type {
	FileEntry, FileSummary, FindReply, HeartbeatReply, HolderRef, ListUpdateBody, ListUpdateReply, PeerSummary, UpdateListBody, UpdateListReply,
} from '../source/common/wire.js';

/** What holders report for one name; holders that agree share one object (and its strings). */
type HeldFile = {name: string; md5: string; size: number};
type Majority = {md5: string; size: number; holders: PeerRecord[]; validUntil: number};
/** A Find reply as UTF-8 JSON, good until the first of the live holders it counted would expire. */
type CachedFind = {body: Buffer; validUntil: number};
/**
 * `holderJson` is the peer's entry in a Find reply, serialized once per UpdateList; `version`
 * is the version of the peer's list the tracker holds, moved on by each incremental update.
 */
type PeerRecord = {id: string; url: string; holderJson: string; files: Map<string, HeldFile>; version: number; lastSeen: number; reachable: boolean};

export type TrackerStateOptions = {
	epoch: string;
	ttlMs: number;
	maxPeersPerFind?: number;
	/** Most files one peer may list, whole or built up by incremental updates. */
	maxFilesPerPeer?: number;
	/** How many names keep a ready Find reply; the oldest entry makes room. */
	findCacheSize?: number;
};

export class IdInUseError extends XfsError {
	readonly url: string;

	constructor(id: string, url: string) {
		super('ID_IN_USE', `machID "${id}" is in use by a live peer at ${url}`);
		this.name = 'IdInUseError';
		this.url = url;
	}
}

/** An incremental update that does not start from the version the tracker holds (lost, reordered, or from before a restart). */
export class ListVersionError extends XfsError {
	readonly version: number | undefined;

	constructor(id: string, version: number | undefined, from: number) {
		super('VERSION_MISMATCH', version === undefined
			? `no list of peer "${id}" here: send the whole list`
			: `peer "${id}" sent an update from version ${from}, the tracker holds version ${version}: send the whole list`);
		this.name = 'ListVersionError';
		this.version = version;
	}
}

export class TrackerState {
	readonly epoch: string;
	readonly ttlMs: number;
	readonly maxPeersPerFind: number;
	readonly #peers = new Map<string, PeerRecord>();
	/** name → holder id → what that holder reports. */
	readonly #holders = new Map<string, Map<string, HeldFile>>();
	/** name → its Find reply (off the JS heap); dropped whenever that name's holders change. */
	readonly #findCache = new Map<string, CachedFind>();
	readonly #findCacheSize: number;
	readonly #maxFilesPerPeer: number;

	constructor({epoch, ttlMs, maxPeersPerFind = 1000, findCacheSize = 100_000, maxFilesPerPeer = 100_000}: TrackerStateOptions) {
		this.epoch = epoch;
		this.ttlMs = ttlMs;
		this.maxPeersPerFind = maxPeersPerFind;
		this.#findCacheSize = findCacheSize;
		this.#maxFilesPerPeer = maxFilesPerPeer;
	}

	/** UpdateList: the whole list replaces the peer's last one. A live peer's id at another URL is refused. */
	updateList(id: string, {url, files, version = 0}: UpdateListBody, now: number): UpdateListReply {
		const existing = this.#peers.get(id);
		if (existing && existing.url !== url && this.#isLive(existing, now)) {
			throw new IdInUseError(id, existing.url);
		}

		if (existing) {
			this.#unindex(existing);
		}

		// A peer that re-registers at the same URL keeps what its last probe found; a new URL is assumed reachable until probed.
		const reachable = existing?.url === url ? existing.reachable : true;
		const record: PeerRecord = {id, url, holderJson: JSON.stringify({id, url} satisfies HolderRef), files: new Map(), version, lastSeen: now, reachable};
		this.#peers.set(id, record);
		this.#index(record, files);
		return {epoch: this.epoch, ttlMs: this.ttlMs, version};
	}

	/**
	 * An incremental update: the entries added or changed and the names removed since version
	 * `from`, which must be the version held; the list is then at version `to`. Costs what it
	 * changes, not the size of the list. A peer unknown or expired, or any other version, is a
	 * ListVersionError: the peer sends its whole list instead.
	 */
	updateFiles(id: string, {from, to, add, remove}: ListUpdateBody, now: number): ListUpdateReply {
		const record = this.#peers.get(id);
		if (!record || !this.#isLive(record, now)) {
			throw new ListVersionError(id, undefined, from);
		}

		if (record.version !== from) {
			throw new ListVersionError(id, record.version, from);
		}

		// The same limit as a whole list: a peer cannot grow past it one update at a time. Nothing changes when refused.
		const removed = new Set(remove.filter(name => record.files.has(name)));
		const added = new Set(add.filter(entry => !record.files.has(entry.name) || removed.has(entry.name)).map(entry => entry.name));
		const count = record.files.size - removed.size + added.size;
		if (count > this.#maxFilesPerPeer) {
			throw new XfsError('TOO_LARGE', `the update would make ${count} files, the limit is ${this.#maxFilesPerPeer} per peer`);
		}

		for (const name of remove) {
			this.#unindexName(record, name);
		}

		this.#index(record, add);
		record.version = to;
		record.lastSeen = now;
		return {epoch: this.epoch, version: to};
	}

	/** O(1): refreshes lastSeen; `known: false` asks the peer to send its whole list. */
	heartbeat(id: string, now: number): HeartbeatReply {
		const record = this.#peers.get(id);
		if (!record || !this.#isLive(record, now)) {
			if (record) {
				this.#drop(record);
			}

			return {epoch: this.epoch, known: false};
		}

		record.lastSeen = now;
		return record.reachable ? {epoch: this.epoch, known: true} : {epoch: this.epoch, known: true, reachable: false};
	}

	leave(id: string): boolean {
		const record = this.#peers.get(id);
		if (!record) {
			return false;
		}

		this.#drop(record);
		return true;
	}

	/**
	 * Drops a peer reported dead, unless it was heard from (heartbeat, UpdateList) at or after
	 * `since`, when the check of the report began: a peer back meanwhile is alive. True when dropped.
	 */
	dropIfSilentSince(id: string, since: number): boolean {
		const record = this.#peers.get(id);
		if (!record || record.lastSeen >= since) {
			return false;
		}

		this.#drop(record);
		return true;
	}

	/**
	 * What a probe of the peer's URL found: a peer whose URL does not answer as it is not offered in
	 * Find (its heartbeats may still arrive) and is told so; a later probe that answers restores it.
	 * Returns whether this changed anything. A record at another URL by now is left alone.
	 */
	setReachable(id: string, url: string, reachable: boolean): boolean {
		const record = this.#peers.get(id);
		if (record?.url !== url || record.reachable === reachable) {
			return false;
		}

		record.reachable = reachable;
		for (const name of record.files.keys()) {
			this.#findCache.delete(name);
		}

		return true;
	}

	isReachable(id: string): boolean | undefined {
		return this.#peers.get(id)?.reachable;
	}

	has(id: string, now: number): boolean {
		const record = this.#peers.get(id);
		return record !== undefined && this.#isLive(record, now);
	}

	urlOf(id: string, now: number): string | undefined {
		const record = this.#peers.get(id);
		return record && this.#isLive(record, now) ? record.url : undefined;
	}

	/** Find: the md5 most live holders report, and only those holders, sorted by id. */
	find(name: string, now: number): FindReply | undefined {
		const majority = this.#majority(name, now);
		return majority && {
			name, md5: majority.md5, size: majority.size, peers: this.#listed(majority).map(({id, url}) => ({id, url})),
		};
	}

	/**
	 * Find as UTF-8 JSON, the same reply as find(), built from each holder's ready entry;
	 * repeated Finds of an unchanged name reuse it.
	 */
	findBody(name: string, now: number): Buffer | undefined {
		const cached = this.#findCache.get(name);
		if (cached && now <= cached.validUntil) {
			return cached.body;
		}

		const majority = this.#majority(name, now);
		if (!majority) {
			this.#findCache.delete(name);
			return undefined;
		}

		const peers = this.#listed(majority).map(record => record.holderJson).join(',');
		const body = Buffer.from(`{"name":${JSON.stringify(name)},"md5":"${majority.md5}","size":${majority.size},"peers":[${peers}]}`);
		if (!cached && this.#findCache.size >= this.#findCacheSize) {
			this.#findCache.delete(this.#findCache.keys().next().value!);
		}

		this.#findCache.set(name, {body, validUntil: majority.validUntil});
		return body;
	}

	/** The holders a Find reply lists: sorted by id, at most maxPeersPerFind. */
	#listed({holders}: Majority): PeerRecord[] {
		return holders.sort((a, b) => (a.id < b.id ? -1 : (a.id > b.id ? 1 : 0))).slice(0, this.maxPeersPerFind);
	}

	files(now: number): FileSummary[] {
		const summaries: FileSummary[] = [];
		for (const name of this.#holders.keys()) {
			const majority = this.#majority(name, now);
			if (majority) {
				summaries.push({name, md5: majority.md5, size: majority.size, holders: majority.holders.length});
			}
		}

		return summaries.sort((a, b) => (a.name < b.name ? -1 : (a.name > b.name ? 1 : 0)));
	}

	peers(now: number): PeerSummary[] {
		return [...this.#peers.values()]
			.filter(record => this.#isLive(record, now))
			.map(record => ({id: record.id, url: record.url, files: record.files.size, lastSeenMsAgo: Math.max(0, now - record.lastSeen)}))
			.sort((a, b) => (a.id < b.id ? -1 : (a.id > b.id ? 1 : 0)));
	}

	/** Drops every peer not heard from within ttlMs; returns their ids. */
	expire(now: number): string[] {
		const expired: string[] = [];
		for (const record of this.#peers.values()) {
			if (!this.#isLive(record, now)) {
				expired.push(record.id);
				this.#drop(record);
			}
		}

		return expired;
	}

	get peerCount(): number {
		return this.#peers.size;
	}

	get fileCount(): number {
		return this.#holders.size;
	}

	/** The winning md5 group, and when the first live holder of the name (in any group) expires. */
	#majority(name: string, now: number): Majority | undefined {
		const holders = this.#holders.get(name);
		if (!holders) {
			return undefined;
		}

		// Holders that agree mostly share one HeldFile: group only when some live holder disagrees.
		const live: PeerRecord[] = [];
		let first: HeldFile | undefined;
		let agree = true;
		let validUntil = Number.POSITIVE_INFINITY;
		for (const [id, held] of holders) {
			const record = this.#peers.get(id);
			if (!record || !this.#isLive(record, now) || !record.reachable) {
				continue;
			}

			validUntil = Math.min(validUntil, record.lastSeen + this.ttlMs);
			live.push(record);
			first ??= held;
			agree &&= held === first || (held.md5 === first.md5 && held.size === first.size);
		}

		if (!first) {
			return undefined;
		}

		if (agree) {
			return {md5: first.md5, size: first.size, holders: live, validUntil};
		}

		const groups = new Map<string, {md5: string; size: number; holders: PeerRecord[]}>();
		for (const record of live) {
			const {md5, size} = holders.get(record.id)!;
			const key = `${md5}/${size}`;
			let group = groups.get(key);
			if (!group) {
				group = {md5, size, holders: []};
				groups.set(key, group);
			}

			group.holders.push(record);
		}

		let best: Majority | undefined;
		for (const group of groups.values()) {
			// Most holders wins; a tie goes to the smaller md5 so every Find agrees.
			if (!best || group.holders.length > best.holders.length || (group.holders.length === best.holders.length && group.md5 < best.md5)) {
				best = {...group, validUntil};
			}
		}

		return best;
	}

	#isLive(record: PeerRecord, now: number): boolean {
		return now - record.lastSeen <= this.ttlMs;
	}

	/** Adds files to the record and the name index; an entry for a name the record holds replaces it (a name listed twice keeps its last entry). */
	#index(record: PeerRecord, files: readonly FileEntry[]): void {
		for (const {name, md5, size} of files) {
			this.#findCache.delete(name);
			let holders = this.#holders.get(name);
			if (!holders) {
				holders = new Map();
				this.#holders.set(name, holders);
			}

			// 1 000 000 (peer, file) pairs are mostly repeats: reuse the first holder's object when it agrees.
			const first = holders.values().next().value;
			const held = first?.md5 === md5 && first.size === size ? first : {name, md5, size};
			record.files.set(name, held);
			holders.set(record.id, held);
		}
	}

	#unindex(record: PeerRecord): void {
		for (const name of record.files.keys()) {
			this.#unindexName(record, name);
		}
	}

	#unindexName(record: PeerRecord, name: string): void {
		if (!record.files.delete(name)) {
			return;
		}

		this.#findCache.delete(name);
		const holders = this.#holders.get(name);
		holders?.delete(record.id);
		if (holders?.size === 0) {
			this.#holders.delete(name);
		}
	}

	#drop(record: PeerRecord): void {
		this.#unindex(record);
		this.#peers.delete(record.id);
	}
}

export {type FileEntry} from '../source/common/wire.js';
