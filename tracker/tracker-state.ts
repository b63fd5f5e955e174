/**
 * The tracker's soft state: which peer holds which files, and where each peer
 * listens. A plain class with no I/O; time is passed in so tests control it.
 */
import {XfsError} from '../source/errors.js';
import type {
	FileEntry, FileSummary, FindReply, HeartbeatReply, PeerSummary, UpdateListBody, UpdateListReply,
} from '../source/wire.js';

type HeldFile = {md5: string; size: number};
type PeerRecord = {id: string; url: string; files: Map<string, HeldFile>; lastSeen: number};

export type TrackerStateOptions = {epoch: string; ttlMs: number; maxPeersPerFind?: number};

export class IdInUseError extends XfsError {
	readonly url: string;

	constructor(id: string, url: string) {
		super('ID_IN_USE', `machID "${id}" is in use by a live peer at ${url}`);
		this.name = 'IdInUseError';
		this.url = url;
	}
}

export class TrackerState {
	readonly epoch: string;
	readonly ttlMs: number;
	readonly maxPeersPerFind: number;
	readonly #peers = new Map<string, PeerRecord>();
	/** name → holder id → what that holder reports. */
	readonly #holders = new Map<string, Map<string, HeldFile>>();

	constructor({epoch, ttlMs, maxPeersPerFind = 1000}: TrackerStateOptions) {
		this.epoch = epoch;
		this.ttlMs = ttlMs;
		this.maxPeersPerFind = maxPeersPerFind;
	}

	/** UpdateList: the whole list replaces the peer's last one. A live peer's id at another URL is refused. */
	updateList(id: string, {url, files}: UpdateListBody, now: number): UpdateListReply {
		const existing = this.#peers.get(id);
		if (existing && existing.url !== url && this.#isLive(existing, now)) {
			throw new IdInUseError(id, existing.url);
		}

		if (existing) {
			this.#unindex(existing);
		}

		const record: PeerRecord = {id, url, files: new Map(), lastSeen: now};
		for (const file of files) {
			record.files.set(file.name, {md5: file.md5, size: file.size});
		}

		this.#peers.set(id, record);
		this.#index(record);
		return {epoch: this.epoch, ttlMs: this.ttlMs};
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
		return {epoch: this.epoch, known: true};
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
		if (!majority) {
			return undefined;
		}

		const peers = majority.holders
			.sort((a, b) => (a.id < b.id ? -1 : (a.id > b.id ? 1 : 0)))
			.slice(0, this.maxPeersPerFind)
			.map(({id, url}) => ({id, url}));
		return {name, md5: majority.md5, size: majority.size, peers};
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

	#majority(name: string, now: number): {md5: string; size: number; holders: Array<{id: string; url: string}>} | undefined {
		const holders = this.#holders.get(name);
		if (!holders) {
			return undefined;
		}

		const groups = new Map<string, {size: number; holders: Array<{id: string; url: string}>}>();
		for (const [id, held] of holders) {
			const record = this.#peers.get(id);
			if (!record || !this.#isLive(record, now)) {
				continue;
			}

			const key = `${held.md5}/${held.size}`;
			let group = groups.get(key);
			if (!group) {
				group = {size: held.size, holders: []};
				groups.set(key, group);
			}

			group.holders.push({id, url: record.url});
		}

		let best: {md5: string; size: number; holders: Array<{id: string; url: string}>} | undefined;
		for (const [key, group] of groups) {
			const md5 = key.slice(0, key.indexOf('/'));
			// Most holders wins; a tie goes to the smaller md5 so every Find agrees.
			if (!best || group.holders.length > best.holders.length || (group.holders.length === best.holders.length && md5 < best.md5)) {
				best = {md5, size: group.size, holders: group.holders};
			}
		}

		return best;
	}

	#isLive(record: PeerRecord, now: number): boolean {
		return now - record.lastSeen <= this.ttlMs;
	}

	#index(record: PeerRecord): void {
		for (const [name, held] of record.files) {
			let holders = this.#holders.get(name);
			if (!holders) {
				holders = new Map();
				this.#holders.set(name, holders);
			}

			holders.set(record.id, held);
		}
	}

	#unindex(record: PeerRecord): void {
		for (const name of record.files.keys()) {
			const holders = this.#holders.get(name);
			holders?.delete(record.id);
			if (holders?.size === 0) {
				this.#holders.delete(name);
			}
		}
	}

	#drop(record: PeerRecord): void {
		this.#unindex(record);
		this.#peers.delete(record.id);
	}
}

export type {FileEntry};
