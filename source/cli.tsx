#!/usr/bin/env node
/**
 * xfs-peer: parses flags, starts the peer and picks the mode (serve, TUI or scripted) before any UI code loads.
 * The only module loaded up front starts the share-dir thread, so that thread boots while the rest loads.
 */
import process from 'node:process';
import {startShareThread} from './share/scan-thread.js';

/** The status of a process ended by SIGPIPE (128 + 13): what a shell sees from `yes | head -1`. */
const sigpipeStatus = 141;
let pipeClosed = false;

async function main(): Promise<number | undefined> {
	const argv = process.argv.slice(2);
	if (argv[0] === 'demo') {
		const {runDemo} = await import('./demo.js');
		return runDemo(argv.slice(1));
	}

	const thread = startShareThread();
	const [{XfsError, UsageError}, {loadPeerConfig, peerHelp}] = await Promise.all([import('./common/errors.js'), import('./peer/peer-config.js')]);
	let config: ReturnType<typeof loadPeerConfig>;
	try {
		config = loadPeerConfig(argv, process.env, process.cwd());
	} catch (error) {
		thread.cancel();
		throw error;
	}

	if (config === 'help') {
		thread.cancel();
		process.stdout.write(`${peerHelp()}\n`);
		return 0;
	}

	// The share dir is scanned on that thread while the server, the client and the logger load here.
	let fallback: string | undefined;
	const prepared = thread.prepare(config.dir, {onFallback(reason) {
		fallback = reason;
	}});
	prepared.catch(() => {});
	const [{PeerNode}, {createLogger}] = await Promise.all([import('./peer/peer-node.js'), import('./common/log.js')]);
	const interactive = !config.serve && Boolean(process.stdin.isTTY && process.stdout.isTTY);
	const node = new PeerNode(config);
	// Headless peers log JSON lines (pino); scripted peers say the same things as plain lines.
	const logger = config.serve ? createLogger('xfs-peer', config.logLevel).child({id: config.id}) : undefined;
	node.logger = logger;
	const say = (message: string) => {
		if (logger) {
			logger.info(message);
		} else if (!interactive) {
			process.stderr.write(`peer ${config.id}: ${message}\n`);
		}
	};

	node.on('notice', say);
	node.on('retry', say);
	try {
		await node.start(prepared.finally(() => {
			if (fallback) {
				say(`share dir scanned on the main thread: the scanning thread failed (${fallback})`);
			}
		}));
	} catch (error) {
		if (error instanceof XfsError && error.code === 'ID_IN_USE') {
			throw new UsageError(`xfs-peer: --id ${config.id}: ${error.message}`);
		}

		throw error;
	}

	let stopping: Promise<void> | undefined;
	const stop = async () => {
		stopping ??= node.stop();
		return stopping;
	};

	// The handlers are in place before the ready line: whoever reads it may send SIGTERM at once.
	let signalled: Promise<void> | undefined;
	const cancel = new AbortController();
	if (config.serve) {
		signalled = new Promise<void>(resolve => {
			process.once('SIGINT', resolve);
			process.once('SIGTERM', resolve);
		});
	} else {
		for (const signal of ['SIGINT', 'SIGTERM'] as const) {
			process.once(signal, () => {
				// A scripted command in flight prints its `cancelled` result first (stdout is a pipe: written at once).
				cancel.abort(signal);
				void stop().then(() => process.exit(130));
			});
		}
	}

	// A reader that went away (`| head -1`): stop writing, leave the tracker, and exit quietly as Unix tools do on SIGPIPE.
	process.stdout.on('error', (error: NodeJS.ErrnoException) => {
		if (error.code !== 'EPIPE') {
			throw error;
		}

		pipeClosed = true;
		cancel.abort('stdout closed');
		void stop().then(() => process.exit(sigpipeStatus));
	});
	process.stderr.on('error', () => {});

	process.stdout.write(`${readyLine(config, node)}\n`);

	if (signalled) {
		await signalled;
		await stop();
		return 0;
	}

	if (interactive) {
		const {runTui} = await import('./tui/run-tui.js');
		await runTui(node);
		await stop();
		return 0;
	}

	const {runScripted} = await import('./commands/scripted.js');
	const status = await runScripted(node, process.stdin, process.stdout, {json: config.json, signal: cancel.signal});
	await stop();
	return status;
}

/** The line saying the peer is up: where it listens, the URL it advertises when other, its DHT node. */
function readyLine(config: {id: string; json: boolean; trackerless?: boolean}, node: {url: string; listeningUrl: string; dhtAddress: string | undefined}): string {
	const advertised = node.url === node.listeningUrl ? undefined : node.url;
	const dht = node.dhtAddress;
	return config.json
		? JSON.stringify({event: 'ready', id: config.id, url: node.listeningUrl, ...(advertised ? {advertised} : {}), ...(dht ? {dht} : {})})
		: `peer ${config.id} listening on ${node.listeningUrl}${advertised ? ` (advertised as ${advertised})` : ''}${dht ? ` (DHT node on ${dht}${config.trackerless ? ', no tracker' : ''})` : ''}`;
}

main().then(status => {
	process.exitCode = pipeClosed ? sigpipeStatus : (status ?? 0);
	// Servers and timers are closed; exit now rather than wait on idle keep-alive sockets.
	process.exit();
}, async (error: unknown) => {
	const {UsageError} = await import('./common/errors.js');
	if (error instanceof UsageError) {
		process.stderr.write(`${error.message}\n`);
		process.exit(2);
	}

	const {code} = error as NodeJS.ErrnoException;
	if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
		process.stderr.write(`xfs-peer: cannot listen: ${(error as Error).message}\n`);
		process.exit(2);
	}

	process.stderr.write(`xfs-peer: ${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
