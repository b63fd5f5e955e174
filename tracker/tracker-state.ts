/**
 * The tracker's soft state: which peer holds which files, where each peer listens and which key
 * it is bound to, and who owns each name (its first publisher's signed record). A plain class
 * with no I/O; time is passed in so tests control it.
 */
import {XfsError} from '../source/common/errors.js';
import {verifyNameRecord} from '../source/common/names.js';
import {keyFingerprint, type Session} from '../source/common/signing.js';
import type {
	FileSummary, FindReply, HeartbeatReply, HolderRef, ListUpdateBody, ListUpdateReply, PartialEntry, PartialHolderRef, PartialReply, PeerSummary, RecordedEntry, UpdateListBody, UpdateListReply,
} from '../source/common/wire.js';
import {type Claim, NameClaims} from './name-claims.js';
import {PartialHolders} from './partial-holders.js';

/**
 * What holders report for one name, with the owner whose record it carries (undefined: a holder
 * bound to no key, in tests of the state alone); holders that agree share one object (and its strings).
 */
type HeldFile = {name: string; md5: string; size: number; owner: string | undefined; version: number; sig: string | undefined; pinned?: number};
type Majority = {md5: string; size: number; holders: PeerRecord[]; validUntil: number; claim?: Claim};

/** Two keys claim a name with different contents and the tracker cannot tell which came first (both claims arrived while the peers re-sent their lists after a start). */
export class NameConflictError extends XfsError {
	constructor(name: string, claims: readonly Claim[]) {
		super('NAME_CONFLICT', `"${name}" is claimed by ${claims.length} keys with different contents (${claims.map(claim => `${keyFingerprint(claim.owner)}… md5 ${claim.md5}`).join(', ')}): ask for one by its md5 (download ${name}@<md5>)`);
		this.name = 'NameConflictError';
	}
}

/** A holder whose copy of a name is not its owner's content: never offered. */
export type NameConflict = {name: string; holder: string; key: string; md5: string; owner: string; ownerMd5: string};
/**
 * A Find reply as JSON text, good until the first of the live holders it counted would expire: a
 * string, which Node's HTTP server joins to the status line and headers in one chunk (a Buffer is
 * queued beside them).
 */
type CachedFind = {body: string; validUntil: number};
/**
 * `holderJson` is the peer's entry in a Find reply, serialized once per UpdateList; `version`
 * is the version of the peer's list the tracker holds, moved on by each incremental update.
 */
type PeerRecord = {
	id: string; url: string; key: string | undefined; holderJson: string; files: Map<string, HeldFile>; version: number; lastSeen: number; reachable: boolean;
	/** The session its last signed registration set up: its later requests carry the session's MAC. */
	session?: Session;
};

/** Who holds a live machID: its URL, the key it is bound to, and whether its URL answered as it. */
export type Binding = {url: string; key: string | undefined; reachable: boolean};

export type TrackerStateOptions = {
	epoch: string;
	ttlMs: number;
	maxPeersPerFind?: number;
	/** Most files one peer may list, whole or built up by incremental updates. */
	maxFilesPerPeer?: number;
	/** How many names keep a ready Find reply; the oldest entry makes room. */
	findCacheSize?: number;
	/**
	 * Claims of a name first seen before this time (the peers re-sending their lists after a
	 * start) cannot be ordered: two keys claiming one name then are NAME_CONFLICT. Default 0.
	 */
	claimsSettleAt?: number;
	/** Told of each holder whose copy of a name is not the owner's content. */
	onConflict?: (conflict: NameConflict) => void;
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
	/** name → holder → what that holder reports (a Find reads the holder's record without looking it up). */
	readonly #holders = new Map<string, Map<PeerRecord, HeldFile>>();
	/** name → its Find reply; dropped whenever that name's holders change. */
	readonly #findCache = new Map<string, CachedFind>();
	readonly #findCacheSize: number;
	readonly #maxFilesPerPeer: number;
	/** Swarm: the files peers are downloading by parts; Find lists them beside the holders. */
	readonly #partial = new PartialHolders();
	/** name → owner key → that owner's claim. */
	readonly #claims = new NameClaims();
	/** key → the id it last registered (checked against the peer's record when read). */
	readonly #idOfKey = new Map<string, string>();
	readonly #claimsSettleAt: number;
	readonly #onConflict: ((conflict: NameConflict) => void) | undefined;
	/** session id → the peer whose session it is (checked against the peer's record when read). */
	readonly #sessions = new Map<string, string>();

	constructor({epoch, ttlMs, maxPeersPerFind = 1000, findCacheSize = 100_000, maxFilesPerPeer = 100_000, claimsSettleAt = 0, onConflict}: TrackerStateOptions) {
		this.epoch = epoch;
		this.ttlMs = ttlMs;
		this.maxPeersPerFind = maxPeersPerFind;
		this.#findCacheSize = findCacheSize;
		this.#maxFilesPerPeer = maxFilesPerPeer;
		this.#claimsSettleAt = claimsSettleAt;
		this.#onConflict = onConflict;
	}

	/**
	 * UpdateList: the whole list replaces the peer's last one, and binds the id to `key`. A live
	 * peer's id at another URL or under another key is refused unless `takeOver` (the tracker
	 * found the old holder gone); `reachable` is what the challenge of the URL found, if asked.
	 */
	updateList(id: string, {url, files, version = 0}: UpdateListBody, now: number, {key, takeOver = false, reachable: proven, session}: {key?: string; takeOver?: boolean; reachable?: boolean; session?: Session} = {}): UpdateListReply {
		const existing = this.#peers.get(id);
		if (existing && !takeOver && (existing.url !== url || existing.key !== key) && this.#isLive(existing, now)) {
			throw new IdInUseError(id, existing.url);
		}

		// A peer that re-registers at the same URL keeps what its last probe found; a new URL is assumed reachable until probed.
		const reachable = proven ?? (existing?.url === url ? existing.reachable : true);
		// The same key keeps its session unless it set up a new one; another key never inherits it.
		const kept = existing?.key === key ? existing?.session : undefined;
		if (existing?.session && existing.session !== kept) {
			this.#sessions.delete(existing.session.id);
		}

		if (existing?.url === url && existing.key === key) {
			// The same peer again (its next UpdateList): costs what changed, like an incremental update.
			this.#setSession(existing, session ?? kept);
			this.#resend(existing, files, now, {version, reachable});
			return {epoch: this.epoch, ttlMs: this.ttlMs, version};
		}

		if (existing) {
			this.#unindex(existing);
		}

		const record: PeerRecord = {id, url, key, holderJson: JSON.stringify({id, url} satisfies HolderRef), files: new Map(), version, lastSeen: now, reachable};
		this.#setSession(record, session ?? kept);
		this.#peers.set(id, record);
		if (key !== undefined) {
			this.#idOfKey.set(key, id);
		}

		this.#index(record, files, now);
		return {epoch: this.epoch, ttlMs: this.ttlMs, version};
	}

	/** The session `id` of a live peer bound to a key: its HMAC key and the peer key it speaks for. */
	sessionOf(id: string, now: number): {macKey: Buffer; key: string} | undefined {
		const peerId = this.#sessions.get(id);
		const record = peerId === undefined ? undefined : this.#peers.get(peerId);
		if (record?.session?.id !== id || record.key === undefined || !this.#isLive(record, now)) {
			return undefined;
		}

		return {macKey: record.session.macKey, key: record.key};
	}

	#setSession(record: PeerRecord, session: Session | undefined): void {
		if (record.session && record.session !== session) {
			this.#sessions.delete(record.session.id);
		}

		record.session = session;
		if (session) {
			this.#sessions.set(session.id, record.id);
		}
	}

	/** A whole list again from the same peer: entries it held as they were stay indexed as they are; the rest is indexed or removed. */
	#resend(record: PeerRecord, files: readonly RecordedEntry[], now: number, {version, reachable}: {version: number; reachable: boolean}): void {
		if (!this.#isLive(record, now) || record.reachable !== reachable) {
			// Finds cached while it was not offered must count it again.
			for (const name of record.files.keys()) {
				this.#findCache.delete(name);
			}
		}

		Object.assign(record, {version, lastSeen: now, reachable});
		// A name listed twice keeps its last entry.
		const latest = new Map<string, RecordedEntry>();
		for (const entry of files) {
			latest.set(entry.name, entry);
		}

		for (const name of record.files.keys()) {
			if (!latest.has(name)) {
				this.#unindexName(record, name);
			}
		}

		const changed: RecordedEntry[] = [];
		for (const entry of latest.values()) {
			const held = record.files.get(entry.name);
			if (!held || !sameAsHeld(entry, held, record.key)) {
				changed.push(entry);
			}
		}

		this.#index(record, changed, now);
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

		this.#index(record, add, now);
		record.version = to;
		record.lastSeen = now;
		return {epoch: this.epoch, version: to};
	}

	/**
	 * Swarm: the files a peer is downloading by parts now, replacing what it said before (one small
	 * request per batch of verified parts). A peer unknown or expired sends its whole list first.
	 */
	setPartial(id: string, files: readonly PartialEntry[], now: number): PartialReply {
		const record = this.#peers.get(id);
		if (!record || !this.#isLive(record, now)) {
			throw new ListVersionError(id, undefined, 0);
		}

		for (const name of this.#partial.set(id, files)) {
			this.#findCache.delete(name);
		}

		record.lastSeen = now;
		return {epoch: this.epoch, files: files.length};
	}

	/** Swarm: the live, reachable peers downloading this version of a file that do not hold it whole, sorted by id. */
	partialHolders(name: string, md5: string, size: number, now: number): {holders: PartialHolderRef[]; validUntil: number} {
		const holders: PartialHolderRef[] = [];
		let validUntil = Number.POSITIVE_INFINITY;
		for (const [id, entry] of this.#partial.of(name) ?? []) {
			const record = this.#peers.get(id);
			if (entry.md5 !== md5 || entry.size !== size || !record || !this.#isLive(record, now) || !record.reachable || record.files.has(name)) {
				continue;
			}

			validUntil = Math.min(validUntil, record.lastSeen + this.ttlMs);
			holders.push({id, url: record.url, have: entry.have, of: entry.of});
		}

		holders.sort((a, b) => (a.id < b.id ? -1 : (a.id > b.id ? 1 : 0)));
		return {holders: holders.slice(0, this.maxPeersPerFind), validUntil};
	}

	#clearPartial(id: string): void {
		for (const name of this.#partial.clear(id)) {
			this.#findCache.delete(name);
		}
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

	/** Whether some live peer is bound to `key`. */
	hasLiveKey(key: string, now: number): boolean {
		const id = this.#idOfKey.get(key);
		return id !== undefined && this.#peers.get(id)?.key === key && this.has(id, now);
	}

	/** The live holder of a machID, if any. */
	bindingOf(id: string, now: number): Binding | undefined {
		const record = this.#peers.get(id);
		return record && this.#isLive(record, now) ? {url: record.url, key: record.key, reachable: record.reachable} : undefined;
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

	/**
	 * Find: the holders of the owner's latest version of the name (its first publisher's; among
	 * holders bound to no key, the md5 most report), sorted by id, with the owner's record and the
	 * peers still downloading that version (`partial`); with `md5`, the holders of exactly that
	 * content. Throws NameConflictError when two keys claim the name and the tracker cannot tell
	 * which was first.
	 */
	find(name: string, now: number, md5?: string): FindReply | undefined {
		const offered = this.#offered(name, now, md5);
		if (offered instanceof NameConflictError) {
			throw offered;
		}

		if (!offered) {
			return undefined;
		}

		const base: FindReply = {name, md5: offered.md5, size: offered.size, peers: this.#listed(offered).map(({id, url}) => ({id, url}))};
		const {claim} = offered;
		const reply: FindReply = claim?.sig === undefined ? base : {...base, owner: claim.owner, version: claim.version, sig: claim.sig};
		const partial = this.partialHolders(name, offered.md5, offered.size, now).holders;
		if (partial.length > 0) {
			reply.partial = partial;
		}

		const pins = this.#pins(name, offered);
		if (pins) {
			reply.pinned = pins.pinned;
			reply.copies = pins.copies;
		}

		return reply;
	}

	/**
	 * Find as UTF-8 JSON, the same reply as find(), built from each holder's ready entry;
	 * repeated Finds of an unchanged name reuse it.
	 */
	findBody(name: string, now: number): string | undefined {
		const cached = this.#findCache.get(name);
		if (cached && now <= cached.validUntil) {
			return cached.body;
		}

		const majority = this.#offered(name, now);
		if (!majority || majority instanceof NameConflictError) {
			// A conflict is answered by find(), as an error.
			this.#findCache.delete(name);
			return undefined;
		}

		const peers = this.#listed(majority).map(record => record.holderJson).join(',');
		const {claim} = majority;
		const record = claim?.sig === undefined ? '' : `,"owner":"${claim.owner}","version":${claim.version},"sig":"${claim.sig}"`;
		const partial = this.partialHolders(name, majority.md5, majority.size, now);
		const partialField = partial.holders.length > 0 ? `,"partial":${JSON.stringify(partial.holders)}` : '';
		const pins = this.#pins(name, majority);
		const pinned = pins ? `,"pinned":${pins.pinned},"copies":${JSON.stringify(pins.copies)}` : '';
		const body = `{"name":${JSON.stringify(name)},"md5":"${majority.md5}","size":${majority.size}${record},"peers":[${peers}]${partialField}${pinned}}`;
		if (!cached && this.#findCache.size >= this.#findCacheSize) {
			this.#findCache.delete(this.#findCache.keys().next().value!);
		}

		this.#findCache.set(name, {body, validUntil: Math.min(majority.validUntil, partial.validUntil)});
		return body;
	}

	/** A pinned file's r (the largest any of the winning holders advertises) and the ids of the holders that keep it pinned, sorted. */
	#pins(name: string, {holders}: Majority): {pinned: number; copies: string[]} | undefined {
		const held = this.#holders.get(name)!;
		let pinned = 0;
		const copies: string[] = [];
		for (const record of holders) {
			const r = held.get(record)?.pinned;
			if (r !== undefined) {
				pinned = Math.max(pinned, r);
				copies.push(record.id);
			}
		}

		return pinned > 0 ? {pinned, copies: copies.sort()} : undefined;
	}

	/** The holders a Find reply lists: sorted by id, at most maxPeersPerFind. */
	#listed({holders}: Majority): PeerRecord[] {
		return holders.sort((a, b) => (a.id < b.id ? -1 : (a.id > b.id ? 1 : 0))).slice(0, this.maxPeersPerFind);
	}

	files(now: number): FileSummary[] {
		const summaries: FileSummary[] = [];
		for (const name of this.#holders.keys()) {
			const majority = this.#offered(name, now);
			if (majority && !(majority instanceof NameConflictError)) {
				const pins = this.#pins(name, majority);
				summaries.push(pins
					? {name, md5: majority.md5, size: majority.size, holders: majority.holders.length, pinned: pins.pinned, copies: pins.copies.length}
					: {name, md5: majority.md5, size: majority.size, holders: majority.holders.length});
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

	/**
	 * What a Find offers: the holders of `md5` if given, else of the owner's latest version (a
	 * conflict when two keys claim the name and neither came first), else (no key anywhere) the
	 * majority; and when the first live holder of the name expires.
	 */
	#offered(name: string, now: number, md5?: string): Majority | NameConflictError | undefined {
		const claims = this.#claims.of(name);
		if (md5 !== undefined || claims) {
			return this.#ofContent(name, now, md5, claims);
		}

		return this.#majority(name, now);
	}

	#ofContent(name: string, now: number, md5: string | undefined, claims: readonly Claim[] | undefined): Majority | NameConflictError | undefined {
		const holders = this.#holders.get(name);
		if (!holders) {
			return undefined;
		}

		let claim: Claim | undefined;
		if (md5 === undefined) {
			const ordered = [...claims!].sort((a, b) => a.since - b.since);
			claim = ordered[0]!;
			const rivals = ordered.filter(other => other.md5 !== claim!.md5 || other.size !== claim!.size);
			if (claim.since < this.#claimsSettleAt && rivals.some(other => other.since < this.#claimsSettleAt)) {
				return new NameConflictError(name, [claim, ...rivals.filter(other => other.since < this.#claimsSettleAt)]);
			}
		} else {
			// The record that goes with exactly this content: its owner's, or any key's.
			const ordered = [...claims ?? []].sort((a, b) => a.since - b.since);
			claim = ordered.find(candidate => candidate.md5 === md5);
		}

		const wanted = md5 ?? claim!.md5;
		const live: PeerRecord[] = [];
		let size: number | undefined;
		let validUntil = Number.POSITIVE_INFINITY;
		for (const [record, held] of holders) {
			if (!this.#isLive(record, now) || !record.reachable) {
				continue;
			}

			validUntil = Math.min(validUntil, record.lastSeen + this.ttlMs);
			if (held.md5 === wanted && (md5 !== undefined || held.size === claim!.size)) {
				size ??= held.size;
				live.push(record);
			}
		}

		if (size === undefined) {
			return undefined;
		}

		return {md5: wanted, size, holders: live, validUntil, claim: claim?.md5 === wanted ? claim : undefined};
	}

	/** Among holders bound to no key: the winning md5 group, and when the first live holder of the name (in any group) expires. */
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
		for (const [record, held] of holders) {
			if (!this.#isLive(record, now) || !record.reachable) {
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
			const {md5, size} = holders.get(record)!;
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

	/**
	 * Adds files to the record and the name index; an entry for a name the record holds replaces
	 * it (a name listed twice keeps its last entry). Each entry's record counts for its owner: the
	 * holder's own key, or the owner named in a copy's record when its signature holds.
	 */
	#index(record: PeerRecord, files: readonly RecordedEntry[], now: number): void {
		for (const entry of files) {
			const {name, md5, size, pinned} = entry;
			if (record.files.has(name)) {
				this.#unindexName(record, name);
			}

			this.#findCache.delete(name);
			let holders = this.#holders.get(name);
			if (!holders) {
				holders = new Map();
				this.#holders.set(name, holders);
			}

			let owner = record.key;
			let {version = 0, sig} = entry;
			if (entry.owner !== undefined && entry.owner !== record.key && !this.#holdsUp(entry)) {
				// A copy whose record does not verify: it is the holder's own claim, unsigned.
				version = 0;
				sig = undefined;
			} else if (entry.owner !== undefined) {
				owner = entry.owner;
			}

			// 1 000 000 (peer, file) pairs are mostly repeats: reuse the first holder's object when it agrees.
			const first = holders.values().next().value;
			const held: HeldFile = first?.md5 === md5 && first.size === size && first.owner === owner && first.version === version && first.sig === sig && first.pinned === pinned
				? first
				: (pinned === undefined ? {name, md5, size, owner, version, sig} : {name, md5, size, owner, version, sig, pinned});
			record.files.set(name, held);
			holders.set(record, held);
			if (owner !== undefined) {
				this.#claim(record, held, owner, now);
			}
		}
	}

	/** Whether a copy's record is its owner's signature of this content (checked once per record: the claim it matches remembers it). */
	#holdsUp(entry: RecordedEntry): boolean {
		const claim = this.#claims.get(entry.name, entry.owner!);
		const same = claim?.md5 === entry.md5 && claim.size === entry.size && claim.version === entry.version && claim.sig === entry.sig;
		if (same && claim!.checked) {
			return true;
		}

		if (!verifyNameRecord(entry, {owner: entry.owner!, version: entry.version!, sig: entry.sig!})) {
			return false;
		}

		if (same) {
			claim!.checked = true;
		}

		return true;
	}

	/** Counts a holder's record for its owner; a higher version (or the owner's own word at the same one) moves the name. */
	#claim(record: PeerRecord, held: HeldFile, owner: string, now: number): void {
		// A copy's record was checked before it was indexed; the owner's own is its signed list's word.
		const checked = owner !== record.key;
		const claim = this.#claims.get(held.name, owner);
		if (claim) {
			claim.count++;
			if (held.version > claim.version || (held.version === claim.version && owner === record.key && (held.md5 !== claim.md5 || held.size !== claim.size))) {
				Object.assign(claim, {md5: held.md5, size: held.size, version: held.version, sig: held.sig, checked});
			}
		} else {
			this.#claims.add(held.name, {owner, md5: held.md5, size: held.size, version: held.version, sig: held.sig, since: now, count: 1, checked});
		}

		if (this.#onConflict && this.#claims.count(held.name) > 1) {
			const first = this.#claims.of(held.name)!.reduce((a, b) => (b.since < a.since ? b : a));
			if (first.owner !== owner && (first.md5 !== held.md5 || first.size !== held.size)) {
				this.#onConflict({name: held.name, holder: record.id, key: owner, md5: held.md5, owner: first.owner, ownerMd5: first.md5});
			}
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
		const held = holders?.get(record);
		holders?.delete(record);
		if (holders?.size === 0) {
			this.#holders.delete(name);
		}

		const claim = held?.owner === undefined ? undefined : this.#claims.get(name, held.owner);
		if (claim && --claim.count === 0) {
			// No holder carries a record of that owner any more: its claim goes (soft state, like the rest).
			this.#claims.delete(name, claim.owner);
		}
	}

	#drop(record: PeerRecord): void {
		this.#setSession(record, undefined);
		this.#clearPartial(record.id);
		this.#unindex(record);
		this.#peers.delete(record.id);
		if (record.key !== undefined && this.#idOfKey.get(record.key) === record.id) {
			this.#idOfKey.delete(record.key);
		}
	}
}

/** Whether an entry a peer lists again is what the tracker holds for it (its own or its owner's record unchanged). */
function sameAsHeld(entry: RecordedEntry, held: HeldFile, key: string | undefined): boolean {
	return held.md5 === entry.md5 && held.size === entry.size && held.pinned === entry.pinned && held.sig === entry.sig
		&& held.version === (entry.version ?? 0) && held.owner === (entry.owner ?? key);
}

export {type FileEntry} from '../source/common/wire.js';
