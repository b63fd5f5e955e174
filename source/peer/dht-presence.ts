/**
 * The peer in the DHT (Serverless): announces each shared file under sha1("xfs:" + name) with its
 * HTTP port (at once when it changes, and again every --announce-ms, below the record lifetime),
 * itself under its machID and the roster key; and answers Find, GetLoad's machID, `files` and
 * `peers` without a tracker, by asking the holders the DHT names what they list.
 */
import {NotFoundError} from '../common/errors.js';
import {nameKey, peerKey, rosterKey} from '../common/dht-keys.js';
import type {DhtContact, DhtNode} from '../common/dht-node.js';
import type {FileEntry, FileSummary, FindReply, HolderRef, PeerSummary} from '../common/wire.js';
import {majorityVote, type HolderClaim, type NameRecordPolicy} from '../core/name-vote.js';
import {fileInfo, getLoad, peerFiles} from '../clients/peer-client.js';

export type DhtPresenceOptions = {
	id: string;
	dht: DhtNode;
	/** This peer's URL (its HTTP port is what it announces) and list. */
	url: () => string;
	entries: () => readonly FileEntry[];
	entry: (name: string) => FileEntry | undefined;
	announceMs: number;
	secret?: string;
	/** Which md5 a name has: the holders' majority unless signed name records say otherwise. */
	nameRecords?: NameRecordPolicy;
	/** How long a holder has to say what it lists. */
	askTimeoutMs?: number;
	notice?: (message: string) => void;
};

/** Announces in flight at once: each is a lookup and up to k announce_peer queries. */
const announceConcurrency = 4;
/** The first retry of announces no node took; it doubles up to --announce-ms. */
const firstRetryMs = 250;
/** Bittorrent-dht's k: below this many nodes, each one holds every record. */
const smallNetwork = 20;
/** Joins that come together are answered with one round of announces. */
const joinDebounceMs = 200;
/** Holders asked at most per find, peers asked at most by `files` and `peers`. */
const maxAsked = 200;

export class DhtPresence {
	readonly #options: DhtPresenceOptions;
	/** The md5 each name was last announced with. */
	readonly #announced = new Map<string, string>();
	/** Peers met (as holders or in the roster): machID → URL, and when. */
	readonly #known = new Map<string, {url: string; seenAt: number}>();
	#timer: NodeJS.Timeout | undefined;
	/** Whether this peer's own keys (machID, roster) went out; an announce no node took is tried again soon. */
	#selfAnnounced = false;
	#retryTimer: NodeJS.Timeout | undefined;
	#retryMs = firstRetryMs;
	#joinTimer: NodeJS.Timeout | undefined;
	#running: Promise<void> = Promise.resolve();
	#stopped = false;

	constructor(options: DhtPresenceOptions) {
		this.#options = options;
	}

	get dht(): DhtNode {
		return this.#options.dht;
	}

	/** Announces everything now, then again every --announce-ms. */
	start(): void {
		// A node learnt while announces wait for a retry (the first node, alone until now): retried at once.
		// In a network smaller than k, every node is among the k closest to every key: a node that joins gets every announce.
		this.#options.dht.onNode(() => {
			if (this.#stopped) {
				return;
			}

			if (this.#options.dht.knownNodes < smallNetwork) {
				clearTimeout(this.#joinTimer);
				this.#joinTimer = setTimeout(() => {
					void this.announceAll();
				}, joinDebounceMs);
				this.#joinTimer.unref();
			} else if (this.#retryTimer) {
				clearTimeout(this.#retryTimer);
				this.#retryTimer = undefined;
				void this.announceChanges();
			}
		});
		void this.announceAll();
		this.#timer = setInterval(() => {
			void this.announceAll();
		}, this.#options.announceMs);
		this.#timer.unref();
	}

	stop(): void {
		this.#stopped = true;
		clearInterval(this.#timer);
		clearTimeout(this.#retryTimer);
		clearTimeout(this.#joinTimer);
	}

	/** The whole list again (the schedule): a removed file is simply no longer announced, and expires. */
	async announceAll(): Promise<void> {
		return this.#serially(async () => {
			this.#announced.clear();
			this.#selfAnnounced = false;
			await this.#announceNow(this.#options.entries());
		});
	}

	/** Files added or changed since they were last announced (the share's change events, a download placed). */
	async announceChanges(): Promise<void> {
		return this.#serially(async () => {
			const changed = this.#options.entries().filter(entry => this.#announced.get(entry.name) !== entry.md5);
			const names = new Set(this.#options.entries().map(entry => entry.name));
			for (const name of this.#announced.keys()) {
				if (!names.has(name)) {
					this.#announced.delete(name);
				}
			}

			await this.#announceNow(changed);
		});
	}

	async #announceNow(entries: readonly FileEntry[]): Promise<void> {
		const port = Number(new URL(this.#options.url()).port);
		const withSelf = !this.#selfAnnounced;
		const keys: Array<{key: Buffer; entry?: FileEntry}> = [
			...(withSelf ? [{key: peerKey(this.#options.id)}, {key: rosterKey}] : []),
			...entries.map(entry => ({key: nameKey(entry.name), entry})),
		];
		let next = 0;
		let failed = 0;
		const worker = async () => {
			while (next < keys.length && !this.#stopped) {
				const {key, entry} = keys[next++]!;
				if (!await this.#options.dht.announce(key, port)) {
					failed++;
				} else if (entry) {
					this.#announced.set(entry.name, entry.md5);
				}
			}
		};

		await Promise.all(Array.from({length: announceConcurrency}, worker));
		if (withSelf && failed === 0) {
			this.#selfAnnounced = true;
		}

		// No node took some (a network's first node, alone so far; a partition): again soon, less often each time.
		if (failed > 0 && !this.#stopped) {
			clearTimeout(this.#retryTimer);
			this.#retryTimer = setTimeout(() => {
				this.#retryTimer = undefined;
				void this.announceChanges();
			}, this.#retryMs);
			this.#retryTimer.unref();
			this.#retryMs = Math.min(this.#retryMs * 2, this.#options.announceMs);
		} else if (failed === 0) {
			clearTimeout(this.#retryTimer);
			this.#retryTimer = undefined;
			this.#retryMs = firstRetryMs;
		}
	}

	async #serially(work: () => Promise<void>): Promise<void> {
		const run = this.#running.catch(() => {}).then(work);
		this.#running = run;
		return run;
	}

	/**
	 * Find without a tracker: the holders the DHT names for the file are each asked what they list
	 * under it (GET /files/:name/info: machID, md5, size); the name's md5 is what most of them hold
	 * (or what the name-record policy says), and the holders of it are the reply. This peer is one
	 * of them when it lists the file. NOT_FOUND when no holder answers for it.
	 */
	async find(name: string): Promise<FindReply> {
		const claims: HolderClaim[] = [];
		/** Each holder's `pinned: r` (README "Replication"): the pinned copies, as the tracker's Find gives them. */
		const pinnedBy = new Map<string, number>();
		const own = this.#options.entry(name);
		if (own) {
			claims.push({holder: {id: this.#options.id, url: this.#options.url()}, md5: own.md5, size: own.size});
			if (own.pinned !== undefined) {
				pinnedBy.set(this.#options.id, own.pinned);
			}
		}

		// Each holder is asked as soon as the lookup names it; the lookup answers once the announces came in.
		const asking: Array<Promise<(HolderClaim & {pinned?: number}) | undefined>> = [];
		const ask = async (url: string): Promise<(HolderClaim & {pinned?: number}) | undefined> => {
			try {
				const info = await fileInfo(url, name, {timeoutMs: this.#options.askTimeoutMs ?? 1000, secret: this.#options.secret});
				return info.name === name ? {holder: {id: info.id, url}, md5: info.md5, size: info.size, pinned: info.pinned} : undefined;
			} catch {
				return undefined;
			}
		};

		const contacts = await this.#options.dht.lookup(nameKey(name), {
			early: true,
			onPeer(contact) {
				if (asking.length < maxAsked) {
					asking.push(ask(urlOf(contact)));
				}
			},
		});
		const answers = await Promise.all(asking);
		for (const claim of answers) {
			// Another address answering as this peer is not this peer.
			if (claim && claim.holder.id !== this.#options.id) {
				claims.push(claim);
				this.#met(claim.holder);
				if (claim.pinned !== undefined && !pinnedBy.has(claim.holder.id)) {
					pinnedBy.set(claim.holder.id, claim.pinned);
				}
			}
		}

		const choice = (this.#options.nameRecords ?? majorityVote)(name, claims);
		if (!choice) {
			throw new NotFoundError(contacts.length === 0
				? `no peer in the DHT announces ${name}`
				: `no peer of the ${contacts.length} the DHT names for ${name} lists it now`);
		}

		const copies = choice.holders.filter(holder => pinnedBy.has(holder.id)).map(holder => holder.id).sort();
		const pinned = Math.max(0, ...copies.map(id => pinnedBy.get(id)!));
		return {name, md5: choice.md5, size: choice.size, peers: choice.holders, ...(pinned > 0 ? {pinned, copies} : {})};
	}

	/**
	 * The live peers this node can see (replication's placement without a tracker): the roster's
	 * and those met, each of which answered GET /load as that machID just now; this peer among them.
	 */
	async livePeers(): Promise<Array<{id: string; url: string}>> {
		const urls = new Set([...(await this.#options.dht.lookup(rosterKey)).map(contact => urlOf(contact)), ...[...this.#known.values()].map(peer => peer.url)]);
		urls.delete(this.#options.url());
		const answers = await Promise.all([...urls].slice(0, maxAsked).map(async url => {
			try {
				return {id: (await getLoad(url, {timeoutMs: this.#options.askTimeoutMs ?? 1000, secret: this.#options.secret})).id, url};
			} catch {
				return undefined;
			}
		}));
		const byId = new Map<string, {id: string; url: string}>([[this.#options.id, {id: this.#options.id, url: this.#options.url()}]]);
		for (const peer of answers) {
			if (peer && !byId.has(peer.id)) {
				byId.set(peer.id, peer);
				this.#met(peer);
			}
		}

		return [...byId.values()];
	}

	/** The URL of a machID: a peer met before, else the one announced under its id that answers as it. */
	async resolve(id: string): Promise<string | undefined> {
		if (id === this.#options.id) {
			return this.#options.url();
		}

		const candidates = [
			...(this.#known.has(id) ? [this.#known.get(id)!.url] : []),
			...(await this.#options.dht.lookup(peerKey(id), {early: true})).map(contact => urlOf(contact)),
		];
		for (const url of new Set(candidates)) {
			try {
				if ((await getLoad(url, {timeoutMs: 1000, secret: this.#options.secret})).id === id) {
					this.#met({id, url});
					return url;
				}
			} catch {}
		}

		return undefined;
	}

	/** Every peer this node knows (the roster, and peers met), each asked for its own list: the lists, and how many answered. */
	async #lists(): Promise<Array<{id: string; url: string; files: FileEntry[]}>> {
		const urls = new Set([...(await this.#options.dht.lookup(rosterKey)).map(contact => urlOf(contact)), ...[...this.#known.values()].map(peer => peer.url)]);
		urls.delete(this.#options.url());
		const lists = await Promise.all([...urls].slice(0, maxAsked).map(async url => {
			try {
				const {id, files} = await peerFiles(url, {secret: this.#options.secret});
				return id === this.#options.id ? undefined : {id, url, files};
			} catch {
				return undefined;
			}
		}));
		const byId = new Map<string, {id: string; url: string; files: FileEntry[]}>();
		byId.set(this.#options.id, {id: this.#options.id, url: this.#options.url(), files: [...this.#options.entries()]});
		for (const list of lists) {
			if (list && !byId.has(list.id)) {
				byId.set(list.id, list);
				this.#met(list);
			}
		}

		return [...byId.values()];
	}

	/** `peers` without a tracker: the view from the peers that answered (this one among them). */
	async peers(): Promise<{peers: PeerSummary[]; viewFrom: number}> {
		const lists = await this.#lists();
		return {peers: lists.map(list => ({id: list.id, url: list.url, files: list.files.length, lastSeenMsAgo: 0})), viewFrom: lists.length};
	}

	/** `files` without a tracker: every name the answering peers list, with the md5 most of them hold. */
	async files(): Promise<{files: FileSummary[]; viewFrom: number}> {
		const lists = await this.#lists();
		const claims = new Map<string, HolderClaim[]>();
		for (const list of lists) {
			for (const file of list.files) {
				const forName = claims.get(file.name) ?? [];
				forName.push({holder: {id: list.id, url: list.url}, md5: file.md5, size: file.size});
				claims.set(file.name, forName);
			}
		}

		const files = [...claims.entries()].sort(([a], [b]) => (a < b ? -1 : (a > b ? 1 : 0))).flatMap(([name, forName]) => {
			const choice = (this.#options.nameRecords ?? majorityVote)(name, forName);
			return choice ? [{name, md5: choice.md5, size: choice.size, holders: choice.holders.length}] : [];
		});
		return {files, viewFrom: lists.length};
	}

	#met(holder: HolderRef): void {
		if (this.#known.size >= 10_000 && !this.#known.has(holder.id)) {
			this.#known.delete(this.#known.keys().next().value!);
		}

		this.#known.set(holder.id, {url: holder.url, seenAt: Date.now()});
	}
}

function urlOf(contact: DhtContact): string {
	return `http://${contact.host}:${contact.port}`;
}
