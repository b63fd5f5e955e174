/** The peer's flags and environment, turned into a checked PeerConfig. */
import {readFileSync} from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import {fileURLToPath} from 'node:url';
import {defaultK, isPolicy, policies, type Policy} from '../core/cost.js';
import {UsageError} from '../common/errors.js';
import {parseFaults, type Faults} from '../serve/faults.js';
import {defaultPartSize, maxPartSize, minPartSize} from '../core/part-geometry.js';
import {checks, type FlagSpec, formatHelp, parseFlags} from '../common/flags.js';
import {type LatencyTable, parseLatencyCsv} from '../core/latency-table.js';
import {type LogLevel, logLevels} from '../common/log-levels.js';
import {isReplicaCount, isValidPeerId, maxReplicas} from '../common/wire.js';
import {parseBootstrap} from '../common/dht-keys.js';

export type PeerConfig = {
	id: string;
	dir: string;
	port: number;
	host: string;
	/** The URL other peers use to reach this one (defaults to http://host:port). */
	advertise?: string;
	tracker: string;
	latencyFile: string;
	latency: LatencyTable;
	latencyScale: number;
	k: number;
	heartbeatMs: number;
	policy: Policy;
	uploadLimit?: number;
	settleMs: number;
	rescanMs: number;
	watch: boolean;
	maxUploads: number;
	uploadIdleMs: number;
	maxSources: number;
	/** Swarm (default on): a download by parts serves its verified parts and uses other partial holders; --no-swarm turns it off. */
	swarm: boolean;
	/** Part size of multi-source downloads, served in GET /files/:name/parts. */
	partSize?: number;
	json: boolean;
	serve: boolean;
	/** Where to mount the whole network as a directory (FUSE), if anywhere. */
	mount?: string;
	trackerWaitMs: number;
	peerWaitMs: number;
	faults: Faults;
	secret?: string;
	logLevel: LogLevel;
	/** --replicas: r of a put. */
	replicas?: number;
	/** --replica-space: bytes of copies kept for others (0: none); undefined: no limit. */
	replicaSpace?: number;
	/** --repair-ms (default --heartbeat-ms), --repair-grace-ms (default --heartbeat-ms), --handoff-ms. */
	repairMs?: number;
	repairGraceMs?: number;
	handoffMs?: number;
	/** The DHT (Serverless): nodes to join through, the UDP port (undefined: no DHT node), the announce schedule and record lifetime. */
	bootstrap?: string[];
	dhtPort?: number;
	announceMs?: number;
	dhtTtlMs?: number;
	/** No tracker is used: --bootstrap or --dht-port given and --tracker not. */
	trackerless?: boolean;
};

/** The folder holding package.json: two up from source/peer/ when run from source, two up from dist/source/ when built. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const bundledLatencyFile = path.join(packageRoot, 'latency.csv');

export const peerFlags: FlagSpec[] = [
	{name: 'id', kind: 'string', env: 'XFS_ID', valueName: 'machID', description: 'this peer\'s machID (required)'},
	{name: 'dir', kind: 'string', env: 'XFS_DIR', valueName: 'path', description: 'the directory to share (required)'},
	{name: 'port', kind: 'integer', env: 'XFS_PORT', default: 0, description: 'port to serve files on; 0 takes a free one', check: checks.port},
	{name: 'host', kind: 'string', env: 'XFS_HOST', default: '127.0.0.1', description: 'address to listen on (0.0.0.0 for every interface)'},
	{name: 'advertise', kind: 'string', env: 'XFS_ADVERTISE', valueName: 'url', description: 'URL other peers reach this one at (default http://host:port)', check: checks.httpUrl},
	{name: 'tracker', kind: 'string', env: 'XFS_TRACKER', default: 'http://127.0.0.1:7000', valueName: 'url', description: 'the tracker\'s URL', check: checks.httpUrl},
	{name: 'latency', kind: 'string', env: 'XFS_LATENCY', default: 'latency.csv', valueName: 'file', description: 'latency table from,to,ms (the bundled one if absent here)'},
	{name: 'latency-scale', kind: 'number', env: 'XFS_LATENCY_SCALE', default: 1, description: 'multiplies every emulated delay (0.01: 100 ms becomes 1 ms)', check: checks.nonNegative},
	{name: 'k', kind: 'number', env: 'XFS_K', default: defaultK, valueName: 'ms', description: 'ms of latency one unit of load is worth in cost = latency + k*load', check: checks.nonNegative},
	{name: 'heartbeat-ms', kind: 'integer', env: 'XFS_HEARTBEAT_MS', default: 5000, description: 'how often to tell the tracker this peer is alive', check: checks.positive},
	{name: 'policy', kind: 'string', env: 'XFS_POLICY', default: 'cost', valueName: policies.join('|'), description: 'how to choose a holder', check: (value: string) => (isPolicy(value) ? undefined : `expected one of ${policies.join(', ')}`)},
	{name: 'upload-limit', kind: 'integer', env: 'XFS_UPLOAD_LIMIT', valueName: 'bytes/s', description: 'cap on this peer\'s total upload rate', check: checks.positive},
	{name: 'settle-ms', kind: 'integer', env: 'XFS_SETTLE_MS', default: 1000, description: 'publish a changed file once its size and mtime have been still this long', check: checks.nonNegative},
	{name: 'rescan-ms', kind: 'integer', env: 'XFS_RESCAN_MS', default: 60_000, description: 'rescan the whole share dir this often (0: never), for what a watch misses', check: checks.nonNegative},
	{name: 'no-watch', kind: 'boolean', env: 'XFS_NO_WATCH', default: false, description: 'do not watch the share dir (the rescan still runs)'},
	{name: 'max-uploads', kind: 'integer', env: 'XFS_MAX_UPLOADS', default: 32, description: 'uploads served at once; beyond them a request is 503 BUSY (Retry-After)', check: checks.positive},
	{name: 'upload-idle-ms', kind: 'integer', env: 'XFS_UPLOAD_IDLE_MS', default: 20_000, description: 'end an upload whose reader has taken nothing for this long', check: checks.positive},
	{name: 'max-sources', kind: 'integer', env: 'XFS_MAX_SOURCES', default: 4, description: 'holders one download reads parts from at once', check: checks.positive},
	{name: 'no-swarm', kind: 'boolean', env: 'XFS_NO_SWARM', default: false, description: 'do not share parts while downloading, nor fetch parts from peers still downloading'},
	{name: 'part-size', kind: 'integer', env: 'XFS_PART_SIZE', default: defaultPartSize, valueName: 'bytes', description: 'size of the parts a multi-source download fetches and checks', check: (value: number) => (value >= minPartSize && value <= maxPartSize ? undefined : `expected ${minPartSize} to ${maxPartSize} bytes`)},
	{name: 'tracker-wait', kind: 'integer', env: 'XFS_TRACKER_WAIT', default: 60_000, valueName: 'ms', description: 'how long find/download wait for a tracker that is down', check: checks.nonNegative},
	{name: 'peer-wait', kind: 'integer', env: 'XFS_PEER_WAIT', default: 10_000, valueName: 'ms', description: 'how long download retries when every holder failed', check: checks.nonNegative},
	{name: 'replicas', kind: 'integer', env: 'XFS_REPLICAS', default: 3, valueName: 'r', description: 'put keeps a file on this many peers', check: (value: number) => (isReplicaCount(value) ? undefined : `expected 1 to ${maxReplicas}`)},
	{name: 'replica-space', kind: 'integer', env: 'XFS_REPLICA_SPACE', valueName: 'bytes', description: 'room for copies kept for others (0: never hold any; default: no limit)', check: checks.nonNegative},
	{name: 'repair-ms', kind: 'integer', env: 'XFS_REPAIR_MS', valueName: 'ms', description: 'how often pinned files are checked (default: --heartbeat-ms)', check: checks.positive},
	{name: 'repair-grace-ms', kind: 'integer', env: 'XFS_REPAIR_GRACE_MS', valueName: 'ms', description: 'a pinned file below r copies this long is repaired (default: --heartbeat-ms)', check: checks.nonNegative},
	{name: 'handoff-ms', kind: 'integer', env: 'XFS_HANDOFF_MS', default: 10_000, valueName: 'ms', description: 'a graceful leave waits this long for its pinned copies to be taken over', check: checks.nonNegative},
	{name: 'secret', kind: 'string', env: 'XFS_SECRET', description: 'shared secret of the network: an HMAC keyed by it signs every request to the tracker and is required for downloads from this peer (the secret itself is never sent)'},
	{name: 'log-level', kind: 'string', env: 'XFS_LOG_LEVEL', default: 'info', valueName: logLevels.join('|'), description: 'with --serve: JSON logs on stderr from this level up', check: (value: string) => ((logLevels as readonly string[]).includes(value) ? undefined : `expected one of ${logLevels.join(', ')}`)},
	{name: 'bootstrap', kind: 'string', env: 'XFS_BOOTSTRAP', valueName: 'host:port[,...]', description: 'join the DHT through these nodes (any peer, or a tracker run with --dht-port); without --tracker, no tracker is used', check(value: string) {
		const parsed = parseBootstrap(value);
		return typeof parsed === 'string' ? parsed : undefined;
	}},
	{name: 'dht-port', kind: 'integer', env: 'XFS_DHT_PORT', description: 'run a DHT node on this UDP port (0 takes a free one); alone, it starts a network\'s first node', check: checks.port},
	{name: 'announce-ms', kind: 'integer', env: 'XFS_ANNOUNCE_MS', default: 300_000, description: 'announce every shared file in the DHT again this often (it is also announced at once when it changes)', check: checks.positive},
	{name: 'dht-ttl-ms', kind: 'integer', env: 'XFS_DHT_TTL_MS', default: 900_000, description: 'how long this DHT node keeps an announce it stores (a record lives 2/3 to 4/3 of this)', check: checks.positive},
	{name: 'json', kind: 'boolean', env: 'XFS_JSON', default: false, description: 'one JSON line per result'},
	{name: 'serve', kind: 'boolean', env: 'XFS_SERVE', default: false, description: 'no commands: serve until SIGINT/SIGTERM'},
	{name: 'mount', kind: 'string', env: 'XFS_MOUNT', valueName: 'dir', description: 'mount every file the network knows as a directory there (FUSE; Debian: apt-get install libfuse2 fuse)'},
	{name: 'fault', kind: 'string', env: 'XFS_FAULT', repeatable: true, valueName: 'spec', description: 'test aid: corrupt=<0..1>, stall-after=<bytes> or watch-error=<errno>'},
];

export const peerUsage = `Usage: xfs-peer --id <machID> --dir <share dir> [options]
       xfs-peer demo        a tracker, the fixture peers and an interactive peer, in one command

Shares one directory with the other peers a tracker knows. Interactive (a TUI) when
stdin and stdout are terminals; otherwise one command per stdin line:
find <name>, download <name>, get <name>, put <name or path>, unpin <name>, getload <machID|host:port>,
updatelist, files, peers, ls, help, exit.
With --bootstrap or --dht-port and no --tracker, no tracker is used: files are found through the DHT.`;

export function peerHelp(): string {
	return formatHelp(peerUsage, peerFlags);
}

/** Flags and environment to a PeerConfig; reads the latency file. Throws UsageError. */
export function loadPeerConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, cwd: string): PeerConfig | 'help' {
	const {values, positionals, help} = parseFlags('xfs-peer', peerFlags, argv, env);
	if (help) {
		return 'help';
	}

	if (positionals.length > 0) {
		throw new UsageError(`xfs-peer: unexpected argument "${positionals[0]}"; see xfs-peer --help`);
	}

	const id = values.id as string | undefined;
	if (id === undefined) {
		throw new UsageError('xfs-peer: --id <machID> is required; see xfs-peer --help');
	}

	if (!isValidPeerId(id)) {
		throw new UsageError(`xfs-peer: --id: "${String(id)}" is not a machID: use 1-64 of [A-Za-z0-9._-]`);
	}

	const dir = values.dir as string | undefined;
	if (dir === undefined) {
		throw new UsageError('xfs-peer: --dir <share dir> is required; see xfs-peer --help');
	}

	const bootstrapValue = values.bootstrap as string | undefined;
	const bootstrap = bootstrapValue === undefined ? [] : parseBootstrap(bootstrapValue) as string[];
	const explicitTracker = argv.some(argument => argument === '--tracker' || argument.startsWith('--tracker=')) || Boolean(env.XFS_TRACKER);
	const dhtWanted = bootstrapValue !== undefined || values['dht-port'] !== undefined;
	const announceMs = values['announce-ms'] as number;
	const dhtTtlMs = values['dht-ttl-ms'] as number;
	if (dhtWanted && announceMs * 3 > dhtTtlMs * 2) {
		throw new UsageError(`xfs-peer: --announce-ms ${announceMs} must be below 2/3 of --dht-ttl-ms ${dhtTtlMs}, or announces expire between two rounds`);
	}

	const latencyArgument = values.latency as string;
	const explicitLatency = argv.some(argument => argument === '--latency' || argument.startsWith('--latency=')) || Boolean(env.XFS_LATENCY);
	const latencyFile = resolveLatencyFile(latencyArgument, explicitLatency, cwd);
	return {
		id,
		dir: path.resolve(cwd, dir),
		port: values.port as number,
		host: values.host as string,
		advertise: values.advertise as string | undefined,
		tracker: (values.tracker as string).replace(/\/+$/, ''),
		latencyFile,
		latency: readLatencyTable(latencyFile),
		latencyScale: values['latency-scale'] as number,
		k: values.k as number,
		heartbeatMs: values['heartbeat-ms'] as number,
		policy: values.policy as Policy,
		uploadLimit: values['upload-limit'] as number | undefined,
		settleMs: values['settle-ms'] as number,
		rescanMs: values['rescan-ms'] as number,
		watch: !(values['no-watch'] as boolean),
		maxUploads: values['max-uploads'] as number,
		uploadIdleMs: values['upload-idle-ms'] as number,
		maxSources: values['max-sources'] as number,
		swarm: !(values['no-swarm'] as boolean),
		partSize: values['part-size'] as number,
		json: values.json as boolean,
		serve: values.serve as boolean,
		mount: values.mount === undefined ? undefined : path.resolve(cwd, values.mount as string),
		trackerWaitMs: values['tracker-wait'] as number,
		peerWaitMs: values['peer-wait'] as number,
		faults: parseFaults((values.fault as string[] | undefined) ?? []),
		secret: values.secret as string | undefined,
		logLevel: values['log-level'] as LogLevel,
		replicas: values.replicas as number,
		replicaSpace: values['replica-space'] as number | undefined,
		repairMs: (values['repair-ms'] as number | undefined) ?? (values['heartbeat-ms'] as number),
		repairGraceMs: (values['repair-grace-ms'] as number | undefined) ?? (values['heartbeat-ms'] as number),
		handoffMs: values['handoff-ms'] as number,
		bootstrap,
		dhtPort: dhtWanted ? (values['dht-port'] as number | undefined) ?? 0 : undefined,
		announceMs,
		dhtTtlMs,
		trackerless: dhtWanted && !explicitTracker,
	};
}

function resolveLatencyFile(argument: string, explicit: boolean, cwd: string): string {
	const file = path.resolve(cwd, argument);
	if (explicit) {
		return file;
	}

	try {
		readFileSync(file);
		return file;
	} catch {
		return bundledLatencyFile;
	}
}

export function readLatencyTable(file: string): LatencyTable {
	let text: string;
	try {
		text = readFileSync(file, 'utf8');
	} catch (error) {
		throw new UsageError(`xfs-peer: --latency ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`, {cause: error});
	}

	try {
		return parseLatencyCsv(text, path.relative(process.cwd(), file) || file);
	} catch (error) {
		if (error instanceof UsageError) {
			throw new UsageError(`xfs-peer: ${error.message}`, {cause: error});
		}

		throw error;
	}
}
