/**
 * `xfs-peer demo`: a tracker and one headless peer per fixture folder as child processes,
 * and the interactive peer `me` (empty share dir) in this process; every child is stopped on the way out.
 * With --serverless there is no tracker: the first fixture peer starts the DHT and the others join through it.
 */
import {type ChildProcess, spawn} from 'node:child_process';
import {mkdtemp, readdir, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import process from 'node:process';
import {createInterface} from 'node:readline';
import {fileURLToPath} from 'node:url';
import {generateFixtures} from '../fixtures/generate.js';
import {UsageError} from './common/errors.js';
import {checks, type FlagSpec, formatHelp, parseFlags} from './common/flags.js';
import {bundledLatencyFile, loadPeerConfig, packageRoot} from './peer/peer-config.js';
import {PeerNode} from './peer/peer-node.js';
import {isValidPeerId} from './common/wire.js';

const demoFlags: FlagSpec[] = [
	{name: 'latency-scale', kind: 'number', env: 'XFS_LATENCY_SCALE', default: 0.05, description: 'multiplies every delay of latency.csv', check: checks.nonNegative},
	{name: 'serverless', kind: 'boolean', env: 'XFS_DEMO_SERVERLESS', default: false, description: 'no tracker: the peers find each other through a DHT the first fixture peer starts'},
];

const demoUsage = `Usage: xfs-peer demo [--latency-scale 0.05] [--serverless]

Starts a local network: a tracker, one headless peer per folder of fixtures/ sharing
that folder, and you, the interactive peer "me" with an empty share dir. Quitting
(exit or Ctrl-C) stops everything it started.`;

const fixturesDir = path.join(packageRoot, 'fixtures');
/** How long a child may take to print its ready line. */
const readyTimeoutMs = 20_000;
/** How long a child may take to leave after SIGTERM before it is killed. */
const stopTimeoutMs = 5000;

export async function runDemo(argv: string[]): Promise<number> {
	const {values, positionals, help} = parseFlags('xfs-peer demo', demoFlags, argv, process.env);
	if (help) {
		process.stdout.write(`${formatHelp(demoUsage, demoFlags)}\n`);
		return 0;
	}

	if (positionals.length > 0) {
		throw new UsageError(`xfs-peer demo: unexpected argument "${positionals[0]}"; see xfs-peer demo --help`);
	}

	const latencyScale = values['latency-scale'] as number;
	const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
	// The UI's modules load while the children start (Ink and React take about as long as the peers).
	const ui = interactive ? import('./tui/run-tui.js') : import('./commands/scripted.js');
	ui.catch(() => {});
	await generateFixtures(fixturesDir);
	const ids = (await readdir(fixturesDir, {withFileTypes: true}))
		.filter(entry => entry.isDirectory() && isValidPeerId(entry.name))
		.map(entry => entry.name)
		.sort();

	const children = new DemoChildren();
	let node: PeerNode | undefined;
	let shareDir: string | undefined;
	let shutdown: Promise<void> | undefined;
	const stopAll = async () => {
		shutdown ??= (async () => {
			await node?.stop().catch(() => {});
			await children.stopAll();
			if (shareDir) {
				await rm(shareDir, {recursive: true, force: true});
			}
		})();
		return shutdown;
	};

	const signals = {SIGINT: 2, SIGTERM: 15, SIGHUP: 1} as const;
	const onSignal = (signal: keyof typeof signals) => {
		void stopAll().finally(() => process.exit(128 + signals[signal]));
	};

	for (const signal of Object.keys(signals) as Array<keyof typeof signals>) {
		process.on(signal, onSignal);
	}

	// A closed terminal (SIGHUP) makes every write fail with EIO; the clean-up must still run.
	const ignoreClosedTerminal = () => {};
	process.stdout.on('error', ignoreClosedTerminal);

	try {
		const serverless = values.serverless as boolean;
		const base = ['--latency', bundledLatencyFile, '--latency-scale', String(latencyScale), '--port', '0'];
		let common: string[];
		let where: string;
		let fixturePeers = ids;
		if (serverless) {
			// The first fixture peer is the network's first DHT node; the rest, and me, join through it.
			const [first, ...rest] = ids;
			const dhtOf = (line: string) => /DHT node on (\d[\d.]*:\d+)/.exec(line)?.[1];
			const bootstrap = await children.start(first!, 'peer', ['--id', first!, '--dir', path.join(fixturesDir, first!), ...base, '--dht-port', '0', '--serve'], line => (line.startsWith(`peer ${first} listening on `) ? dhtOf(line) : undefined));
			common = [...base, '--bootstrap', bootstrap.url];
			where = `no tracker: a DHT started by ${first!} at ${bootstrap.url}`;
			fixturePeers = rest;
		} else {
			const tracker = await children.start('tracker', 'tracker', ['--port', '0', '--quiet'], line => /^tracker listening on (\S+)/.exec(line)?.[1]);
			common = ['--tracker', tracker.url, ...base];
			where = `tracker ${tracker.url}`;
		}

		shareDir = await mkdtemp(path.join(tmpdir(), 'xfs-demo-me-'));
		// The part size is the one setting the serving peers take from the environment too.
		const config = loadPeerConfig(['--id', 'me', '--dir', shareDir, ...common], {XFS_PART_SIZE: process.env.XFS_PART_SIZE}, process.cwd());
		if (config === 'help') {
			return 0;
		}

		node = new PeerNode(config);
		const me = node;
		children.onUnexpectedExit = message => me.emit('notice', message);
		// "me" needs only the tracker: it starts while the fixture peers do.
		await Promise.all([
			...fixturePeers.map(async id => children.start(id, 'peer', ['--id', id, '--dir', path.join(fixturesDir, id), ...common, '--serve'], line => new RegExp(`^peer ${id} listening on (\\S+)`).exec(line)?.[1])),
			node.start(),
		]);

		const banner = [
			`xfs-peer demo: ${where}; peers ${ids.join(', ')} each serve fixtures/<machID>`,
			`latency ×${latencyScale}: every delay of latency.csv is scaled (1500 ms becomes ${Math.round(1500 * latencyScale * 10) / 10} ms); the panel shows the table's ms`,
			`you are "me", sharing the empty folder ${shareDir}`,
			'try: find song.mp3   download song.mp3   getload A   files   help',
		];
		const loaded = await ui;
		if ('runTui' in loaded) {
			await loaded.runTui(node, {banner});
			return 0;
		}

		process.stdout.write(`${banner.join('\n')}\n`);
		return await loaded.runScripted(node, process.stdin, process.stdout, {json: false});
	} finally {
		await stopAll();
		for (const signal of Object.keys(signals) as Array<keyof typeof signals>) {
			process.off(signal, onSignal);
		}

		const trackerWord = children.trackerCount > 0 ? 'the tracker and ' : '';
		process.stdout.write(`xfs-peer demo: stopped ${trackerWord}${children.peerCount} peer${children.peerCount === 1 ? '' : 's'}\n`);
	}
}

type Started = {name: string; child: ChildProcess; url: string; exited: Promise<void>};

/** The children speak plain HTTP on this machine only: spared the CA file Node would otherwise read at each start. */
const {NODE_EXTRA_CA_CERTS: _extraCaCerts, ...childEnv} = process.env;

/** The demo's child processes: started with this Node binary, awaited on their ready line, stopped peers first. */
class DemoChildren {
	onUnexpectedExit: (message: string) => void = () => {};
	readonly #running: Array<{name: string; child: ChildProcess; exited: Promise<void>}> = [];
	#stopping = false;

	get trackerCount(): number {
		return this.#running.filter(entry => entry.name === 'tracker').length;
	}

	get peerCount(): number {
		return this.#running.filter(entry => entry.name !== 'tracker').length;
	}

	async start(name: string, program: 'tracker' | 'peer', args: string[], readyUrl: (line: string) => string | undefined): Promise<Started> {
		const child = spawn(process.execPath, [...entryOf(program), ...args], {cwd: packageRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe']});
		const stderrTail: string[] = [];
		createInterface({input: child.stderr!}).on('line', line => {
			stderrTail.push(line);
			stderrTail.splice(0, stderrTail.length - 5);
		});
		const exited = new Promise<void>(resolve => {
			child.once('exit', (code, signal) => {
				if (!this.#stopping) {
					this.onUnexpectedExit(`demo: ${name} exited (${signal ?? `status ${code}`})${stderrTail.length > 0 ? `: ${stderrTail.at(-1)}` : ''}`);
				}

				resolve();
			});
		});
		this.#running.push({name, child, exited});

		const url = await new Promise<string>((resolve, reject) => {
			const timer = setTimeout(() => {
				reject(new Error(`demo: ${name} printed no ready line within ${readyTimeoutMs / 1000} s`));
			}, readyTimeoutMs);
			const lines = createInterface({input: child.stdout!});
			lines.on('line', line => {
				const found = readyUrl(line);
				if (found) {
					clearTimeout(timer);
					resolve(found);
				}
			});
			void exited.then(() => {
				clearTimeout(timer);
				reject(new Error(`demo: ${name} exited before it was ready${stderrTail.length > 0 ? `:\n${stderrTail.join('\n')}` : ''}`));
			});
		});
		return {name, child, url, exited};
	}

	/** Peers first, so they leave the tracker while it still runs; then the tracker. */
	async stopAll(): Promise<void> {
		this.#stopping = true;
		const peers = this.#running.filter(entry => entry.name !== 'tracker');
		const trackers = this.#running.filter(entry => entry.name === 'tracker');
		await Promise.all(peers.map(async entry => stopChild(entry.child, entry.exited)));
		await Promise.all(trackers.map(async entry => stopChild(entry.child, entry.exited)));
	}
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) {
		return;
	}

	child.kill('SIGTERM');
	let timer: NodeJS.Timeout | undefined;
	const gaveUp = new Promise<'late'>(resolve => {
		timer = setTimeout(() => {
			resolve('late');
		}, stopTimeoutMs);
	});
	if (await Promise.race([exited, gaveUp]) === 'late') {
		child.kill('SIGKILL');
		await exited;
	}

	clearTimeout(timer);
}

/** Running from source (tsx) the children load the TypeScript entries through tsx; installed, the compiled ones. */
function entryOf(program: 'tracker' | 'peer'): string[] {
	const fromSource = path.extname(fileURLToPath(import.meta.url)) === '.ts';
	if (fromSource) {
		return ['--import', import.meta.resolve('tsx'), path.join(packageRoot, program === 'tracker' ? 'tracker/cli.ts' : 'source/cli.tsx')];
	}

	return [path.join(packageRoot, 'dist', program === 'tracker' ? 'tracker/cli.js' : 'source/cli.js')];
}
