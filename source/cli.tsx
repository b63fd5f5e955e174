#!/usr/bin/env node
/**
 * xfs-peer: parses flags, starts the peer and picks the mode (serve, TUI or scripted) before any UI code loads.
 * The only module loaded up front starts the share-dir thread, so that thread boots while the rest loads.
 */
import process from 'node:process';
import type {PeerNode} from './peer/peer-node.js';
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

	// Without FUSE, --mount fails before anything starts; a stale mount a killed peer left is cleared first.
	let mountPoint: Awaited<ReturnType<typeof readyMountPoint>> | undefined;
	try {
		mountPoint = config.mount === undefined ? undefined : await readyMountPoint(config.mount, config.dir);
	} catch (error) {
		thread.cancel();
		throw error;
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
	/** Lines about the mount that must be seen in every mode: on stderr (or the log) outside the TUI, in its banner before it starts. */
	const mountLines: string[] = [];
	const sayAboutMount = (message: string) => {
		if (logger) {
			logger.info(message);
		} else {
			process.stderr.write(`peer ${config.id}: ${message}\n`);
		}
	};

	if (mountPoint?.cleared) {
		(interactive ? (line: string) => mountLines.push(line) : sayAboutMount)(mountPoint.cleared);
	}

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

	if (mountPoint) {
		await mountPoint.mount(node);
	}

	let stopping: Promise<void> | undefined;
	const stop = async () => {
		// The mount goes first: nothing new is read through it while the peer leaves.
		stopping ??= node.unmount().then(line => {
			if (line) {
				sayAboutMount(line);
			}
		}).finally(async () => node.stop());
		return stopping;
	};

	// The handlers are in place before the ready line: whoever reads it may send SIGTERM at once.
	let signalled: Promise<void> | undefined;
	const cancel = new AbortController();
	if (config.serve) {
		signalled = new Promise<void>(resolve => {
			process.once('SIGINT', resolve);
			process.once('SIGTERM', resolve);
			process.once('SIGHUP', resolve);
		});
	} else {
		// SIGHUP too (the terminal went away): the peer leaves the tracker and unmounts as on the others.
		for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
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

	process.stdout.write(readyLine(config.json, node));

	if (signalled) {
		await signalled;
		await stop();
		return 0;
	}

	if (interactive) {
		const {runTui} = await import('./tui/run-tui.js');
		await runTui(node, {banner: mountLines});
		await stop();
		return 0;
	}

	const {runScripted} = await import('./commands/scripted.js');
	const status = await runScripted(node, process.stdin, process.stdout, {json: config.json, signal: cancel.signal});
	await stop();
	return status;
}

/** The ready line: where the peer listens and, with --mount, where the network is mounted (it answers by now). */
function readyLine(json: boolean, node: PeerNode): string {
	const {id} = node.config;
	const mount = node.mountDir;
	const advertised = node.url === node.listeningUrl ? undefined : node.url;
	const dht = node.dhtAddress;
	if (json) {
		return `${JSON.stringify({event: 'ready', id, url: node.listeningUrl, ...(advertised ? {advertised} : {}), ...(mount ? {mount} : {}), ...(dht ? {dht} : {})})}\n`;
	}

	const dhtText = dht ? ` (DHT node on ${dht}${node.config.trackerless ? ', no tracker' : ''})` : '';
	return `peer ${id} listening on ${node.listeningUrl}${advertised ? ` (advertised as ${advertised})` : ''}${dhtText}${mount ? `, network mounted at ${mount}` : ''}\n`;
}

/** FUSE found and the mount point ready (a stale mount cleared), or a UsageError naming what is missing and how to install it. */
async function readyMountPoint(dir: string, shareDir: string) {
	const [{UsageError}, {findFuse}, {prepareMountPoint}, {realpath}] = await Promise.all([
		import('./common/errors.js'), import('./mount/fuse-binding.js'), import('./mount/mount-point.js'), import('node:fs/promises'),
	]);
	const found = findFuse(process.env);
	if (!found.ok) {
		throw new UsageError(`xfs-peer: --mount ${dir}: FUSE is not available: ${found.missing}`);
	}

	const realShareDir = await realpath(shareDir).catch(() => shareDir);
	const cleared = await prepareMountPoint(dir, {fusermountPath: found.fusermount, shareDir: realShareDir});
	return {
		cleared: cleared && `cleared a stale mount at ${dir} (left by a peer that did not exit cleanly${cleared === 'cleared-lazily' ? '; unmounted lazily' : ''})`,
		/** Mounts once the peer runs; a mount that fails stops the peer (it leaves the tracker) and exits 2. */
		async mount(node: PeerNode) {
			try {
				await node.mount(dir, {fuse: found.fuse, fusermount: found.fusermount});
			} catch (error) {
				await node.stop();
				throw new UsageError(`xfs-peer: --mount ${dir}: cannot mount: ${(error as Error).message}`, {cause: error});
			}
		},
	};
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
