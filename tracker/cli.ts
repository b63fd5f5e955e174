#!/usr/bin/env node
/** xfs-tracker: parses flags and runs the tracker until SIGINT/SIGTERM. */
import process from 'node:process';
import {UsageError} from '../source/common/errors.js';
import {checks, type FlagSpec, formatHelp, parseFlags} from '../source/common/flags.js';
import {createLogger, type LogLevel, logLevels} from '../source/common/log.js';
import {parseBootstrap} from '../source/common/dht-keys.js';
import type {DhtNode} from '../source/common/dht-node.js';
import {startTracker} from './server.js';

const trackerFlags: FlagSpec[] = [
	{name: 'port', kind: 'integer', env: 'XFS_TRACKER_PORT', default: 7000, description: 'port to listen on; 0 takes a free one', check: checks.port},
	{name: 'host', kind: 'string', env: 'XFS_TRACKER_HOST', default: '127.0.0.1', description: 'address to listen on (0.0.0.0 for every interface)'},
	{name: 'ttl-ms', kind: 'integer', env: 'XFS_TTL_MS', default: 15_000, description: 'drop a peer not heard from within this many ms', check: checks.positive},
	{name: 'warmup-ms', kind: 'integer', env: 'XFS_WARMUP_MS', default: 5000, description: 'after a start, a Find of a name no peer has listed yet is 503 WARMING_UP for this long (0: off)', check: checks.nonNegative},
	{name: 'secret', kind: 'string', env: 'XFS_SECRET', description: 'shared secret of the network: every write carries an HMAC keyed by it (never the secret itself)'},
	{name: 'body-limit', kind: 'integer', env: 'XFS_BODY_LIMIT', default: 16 * 1024 * 1024, valueName: 'bytes', description: 'largest UpdateList body; larger is 413', check: checks.positive},
	{name: 'max-files-per-peer', kind: 'integer', env: 'XFS_MAX_FILES_PER_PEER', default: 100_000, description: 'most files one peer may list; more is 413', check: checks.positive},
	{name: 'max-peers-per-find', kind: 'integer', env: 'XFS_MAX_PEERS_PER_FIND', default: 1000, description: 'most holders one Find reply lists', check: checks.positive},
	{name: 'log-level', kind: 'string', env: 'XFS_LOG_LEVEL', default: 'info', valueName: logLevels.join('|'), description: 'JSON logs on stderr from this level up', check: (value: string) => ((logLevels as readonly string[]).includes(value) ? undefined : `expected one of ${logLevels.join(', ')}`)},
	{name: 'dht-port', kind: 'integer', env: 'XFS_DHT_PORT', description: 'also run a DHT node on this UDP port (0 takes a free one): peers can bootstrap from the tracker\'s host', check: checks.port},
	{name: 'bootstrap', kind: 'string', env: 'XFS_BOOTSTRAP', valueName: 'host:port[,...]', description: 'with --dht-port: join an existing DHT through these nodes', check(value: string) {
		const parsed = parseBootstrap(value);
		return typeof parsed === 'string' ? parsed : undefined;
	}},
	{name: 'dht-ttl-ms', kind: 'integer', env: 'XFS_DHT_TTL_MS', default: 900_000, description: 'with --dht-port: how long the node keeps an announce it stores', check: checks.positive},
	{name: 'json', kind: 'boolean', env: 'XFS_JSON', default: false, description: 'print the ready line as JSON'},
	{name: 'quiet', kind: 'boolean', env: 'XFS_QUIET', default: false, description: 'log warnings and errors only (--log-level warn)'},
];

const usage = 'Usage: xfs-tracker [--port 7000] [--host 127.0.0.1] [--ttl-ms 15000]\n\nThe xfs-peer tracker: soft state only (which peer holds which file), rebuilt from peers after a restart.';

async function main(): Promise<void> {
	const {values, positionals, help} = parseFlags('xfs-tracker', trackerFlags, process.argv.slice(2), process.env);
	if (help) {
		process.stdout.write(`${formatHelp(usage, trackerFlags)}\n`);
		return;
	}

	if (positionals.length > 0) {
		throw new UsageError(`xfs-tracker: unexpected argument "${positionals[0]}"; see xfs-tracker --help`);
	}

	const logger = createLogger('xfs-tracker', values.quiet ? 'warn' : values['log-level'] as LogLevel);
	const tracker = await startTracker({
		port: values.port as number,
		host: values.host as string,
		ttlMs: values['ttl-ms'] as number,
		warmupMs: values['warmup-ms'] as number,
		secret: values.secret as string | undefined,
		bodyLimit: values['body-limit'] as number,
		maxFilesPerPeer: values['max-files-per-peer'] as number,
		maxPeersPerFind: values['max-peers-per-find'] as number,
		logger,
		log(message) {
			logger.info(message);
		},
		warn(message) {
			logger.warn(message);
		},
	});
	let dht: DhtNode | undefined;
	if (values['dht-port'] !== undefined) {
		const {DhtNode} = await import('../source/common/dht-node.js');
		dht = await DhtNode.start({
			port: values['dht-port'] as number,
			host: values.host as string,
			bootstrap: values.bootstrap === undefined ? [] : parseBootstrap(values.bootstrap as string) as string[],
			recordTtlMs: values['dht-ttl-ms'] as number,
			log(message) {
				logger.warn(message);
			},
		});
	}

	let stopping = false;
	const stop = () => {
		if (stopping) {
			return;
		}

		stopping = true;
		void Promise.all([tracker.close(), dht?.stop()]).then(() => process.exit(0));
	};

	// In place before the ready line: whoever reads it may send SIGTERM at once.
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
	logger.info({url: tracker.url, epoch: tracker.state.epoch, secured: Boolean(values.secret)}, 'tracker ready');
	process.stdout.write(values.json
		? `${JSON.stringify({event: 'ready', url: tracker.url, epoch: tracker.state.epoch, ...(dht ? {dht: dht.address} : {})})}\n`
		: `tracker listening on ${tracker.url}\n${dht ? `tracker DHT node on ${dht.address}\n` : ''}`);
}

main().catch((error: unknown) => {
	if (error instanceof UsageError) {
		process.stderr.write(`${error.message}\n`);
		process.exit(2);
	}

	const {code} = error as NodeJS.ErrnoException;
	if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
		process.stderr.write(`xfs-tracker: cannot listen: ${(error as Error).message}\n`);
		process.exit(2);
	}

	process.stderr.write(`xfs-tracker: ${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
