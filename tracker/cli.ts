#!/usr/bin/env node
/** xfs-tracker: parses flags and runs the tracker until SIGINT/SIGTERM. */
import process from 'node:process';
import {UsageError} from '../source/errors.js';
import {checks, type FlagSpec, formatHelp, parseFlags} from '../source/flags.js';
import {startTracker} from './server.js';

const trackerFlags: FlagSpec[] = [
	{name: 'port', kind: 'integer', env: 'XFS_TRACKER_PORT', default: 7000, description: 'port to listen on; 0 takes a free one', check: checks.port},
	{name: 'host', kind: 'string', env: 'XFS_TRACKER_HOST', default: '127.0.0.1', description: 'address to listen on (0.0.0.0 for every interface)'},
	{name: 'ttl-ms', kind: 'integer', env: 'XFS_TTL_MS', default: 15_000, description: 'drop a peer not heard from within this many ms', check: checks.positive},
	{name: 'json', kind: 'boolean', env: 'XFS_JSON', default: false, description: 'print the ready line as JSON'},
	{name: 'quiet', kind: 'boolean', env: 'XFS_QUIET', default: false, description: 'do not log peer arrivals and departures on stderr'},
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

	const quiet = values.quiet as boolean;
	const tracker = await startTracker({
		port: values.port as number,
		host: values.host as string,
		ttlMs: values['ttl-ms'] as number,
		log: quiet ? () => {} : message => process.stderr.write(`tracker: ${message}\n`),
	});
	process.stdout.write(values.json
		? `${JSON.stringify({event: 'ready', url: tracker.url, epoch: tracker.state.epoch})}\n`
		: `tracker listening on ${tracker.url}\n`);

	let stopping = false;
	const stop = () => {
		if (stopping) {
			return;
		}

		stopping = true;
		void tracker.close().then(() => process.exit(0));
	};

	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
	if (error instanceof UsageError) {
		process.stderr.write(`${error.message}\n`);
		process.exit(2);
	}

	const code = (error as NodeJS.ErrnoException).code;
	if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
		process.stderr.write(`xfs-tracker: cannot listen: ${(error as Error).message}\n`);
		process.exit(2);
	}

	process.stderr.write(`xfs-tracker: ${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
