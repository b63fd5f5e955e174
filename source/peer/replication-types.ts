/** The parts of replication (README "Replication") and what they need of the peer. */
import type {FileEntry, FindReply} from '../common/wire.js';
import type {PinStore} from '../share/pin-store.js';

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
