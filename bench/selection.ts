/**
 * The selection study: real tracker and peer processes, holders with --upload-limit,
 * a latency matrix over them, many downloaders at once; mean download time by
 * hosts per file for every policy, and cost = latency + k·load over a sweep of k.
 *
 *   npm run bench:selection              full run (bench/results/)
 *   npm run bench:selection -- --quick   the short run (bench/results/quick/), under 2 minutes
 *   options for experiments: --out <dir>, --time-scale <0..1> (default 0.2), --rounds <n>
 */
import {type ChildProcessWithoutNullStreams, spawn} from 'node:child_process';
import {existsSync} from 'node:fs';
import {link, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import {setTimeout as sleep} from 'node:timers/promises';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';
import {buildPrograms} from '../build.js';
import {defaultK, type Policy} from '../source/core/cost.js';
import {renderCharts} from './selection-chart.js';
import {
	checkExpectation, chooseK, type Configuration, meanByK, configurationName, downloaderId, fileName, holdings, latencyCsv,
	makeWorkload, type Sample, seededRandom, shuffle, summarizeCell, type Summary, type Workload,
} from './selection-workload.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type Settings = {
	mode: 'full' | 'quick';
	seeds: number[];
	/** Each round measures every (hosts, configuration) cell once, in a shuffled order. */
	rounds: number;
	/**
	 * Further rounds of the largest host count only, where the expectation compares the policies:
	 * per round, which downloaders happen to collide varies a lot, so the comparison needs many
	 * rounds, while the other host counts (1 host above all, the longest cell) need few.
	 */
	extraRoundsAtLargest: number;
	holders: number;
	hostCounts: number[];
	/** Downloaders per configuration, each on its own seat (place in the latency matrix). */
	seats: number;
	downloadsEach: number;
	/** The values of k measured for cost; the quick run measures only the default, which the full run's sweep chose. */
	kSweep: number[];
	/** Every emulated delay is multiplied by this, and the upload limit divided by it, so all times shrink alike. */
	timeScale: number;
	fileBytes: number;
	/** The upload limit at time scale 1: one file alone takes fileBytes / nominalUploadRate. */
	nominalUploadRate: number;
	outDir: string;
};

function settingsFor(quick: boolean, outDir?: string): Settings {
	const common = {seats: 8, downloadsEach: 1, timeScale: 0.2, fileBytes: 128 * 1024, nominalUploadRate: 128 * 1024};
	return quick
		? {...common, mode: 'quick', seeds: [1], rounds: 3, extraRoundsAtLargest: 11, holders: 8, hostCounts: [1, 2, 4, 8], kSweep: [defaultK], outDir: outDir ?? path.join(repoRoot, 'bench/results/quick')}
		: {...common, mode: 'full', seeds: [1, 2, 3], rounds: 4, extraRoundsAtLargest: 0, holders: 8, hostCounts: [1, 2, 3, 4, 5, 6, 7, 8], kSweep: [125, 250, 500, 1000, 2000, 4000], outDir: outDir ?? path.join(repoRoot, 'bench/results')};
}

/** The programs as shipped (build.ts), built apart from dist/ so the study does not depend on a build in place. */
const programsDir = path.join(repoRoot, 'bench/tmp/selection');
const programs = {peer: path.join(programsDir, 'source/cli.js'), tracker: path.join(programsDir, 'tracker/cli.js')};

/** A child process whose stdout lines can be awaited. */
class Child {
	readonly process: ChildProcessWithoutNullStreams;
	readonly exited: Promise<number | null>;
	readonly #lines: string[] = [];
	#waiting: {match: (line: string) => boolean; resolve: (line: string) => void; reject: (error: Error) => void} | undefined;
	readonly #stderr: string[] = [];

	constructor(readonly name: string, program: string, args: string[]) {
		this.process = spawn(process.execPath, [program, ...args], {cwd: repoRoot, stdio: 'pipe', env: {...process.env, NO_COLOR: '1'}});
		this.exited = new Promise(resolve => {
			this.process.once('exit', code => {
				this.#waiting?.reject(new Error(`${name} exited (${code}) while awaited; stderr:\n${this.#stderr.slice(-10).join('')}`));
				resolve(code);
			});
		});
		let buffer = '';
		this.process.stdout.setEncoding('utf8').on('data', (chunk: string) => {
			buffer += chunk;
			let newline: number;
			while ((newline = buffer.indexOf('\n')) !== -1) {
				this.#push(buffer.slice(0, newline));
				buffer = buffer.slice(newline + 1);
			}
		});
		this.process.stderr.setEncoding('utf8').on('data', (chunk: string) => {
			this.#stderr.push(chunk);
		});
	}

	async next(match: (line: string) => boolean, timeoutMs: number): Promise<string> {
		const index = this.#lines.findIndex(match);
		if (index !== -1) {
			return this.#lines.splice(0, index + 1).at(-1)!;
		}

		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.#waiting = undefined;
				reject(new Error(`${this.name}: nothing within ${timeoutMs} ms; stderr:\n${this.#stderr.slice(-10).join('')}`));
			}, timeoutMs);
			this.#waiting = {
				match,
				resolve(line) {
					clearTimeout(timer);
					resolve(line);
				},
				reject(error) {
					clearTimeout(timer);
					reject(error);
				},
			};
		});
	}

	/** Sends one command line; resolves with its JSON result and the time it took as seen from here. */
	async run(line: string, timeoutMs = 120_000): Promise<{result: Record<string, any>; ms: number}> {
		const started = performance.now();
		this.process.stdin.write(`${line}\n`);
		const reply = await this.next(candidate => candidate.startsWith('{"cmd"'), timeoutMs);
		return {result: JSON.parse(reply) as Record<string, any>, ms: performance.now() - started};
	}

	kill(): void {
		if (this.process.exitCode === null && this.process.signalCode === null) {
			this.process.kill('SIGKILL');
		}
	}

	#push(line: string): void {
		if (this.#waiting?.match(line)) {
			const {resolve} = this.#waiting;
			this.#waiting = undefined;
			resolve(line);
			return;
		}

		this.#lines.push(line);
	}
}

const started: Child[] = [];
function startChild(name: string, program: string, args: string[]): Child {
	const child = new Child(name, program, args);
	started.push(child);
	return child;
}

async function startPeer(id: string, args: string[]): Promise<Child> {
	const child = startChild(`peer ${id}`, programs.peer, ['--id', id, '--json', ...args]);
	await child.next(line => line.includes('"event":"ready"'), 30_000);
	return child;
}

/** Deterministic bytes so every copy of a file has the same md5. */
function fileBytes(size: number, seed: number): Buffer {
	const random = seededRandom(seed);
	const buffer = Buffer.alloc(size);
	for (let index = 0; index < size; index += 4) {
		buffer.writeUInt32LE(Math.floor(random() * 4_294_967_296), index);
	}

	return buffer;
}

type Network = {seed: number; tracker: string; root: string; latencyFile: string; workload: Workload; configurations: Configuration[]; downloaders: Array<Map<string, Child>>};

/**
 * One seed's network: a tracker, the holders (each share dir filled with hard links to one file)
 * and, for every configuration, one downloader per seat, all started before anything is measured.
 */
async function startNetwork(settings: Settings, seed: number, configurations: Configuration[], log: (message: string) => void): Promise<Network> {
	const rounds = settings.rounds + settings.extraRoundsAtLargest;
	const workload = makeWorkload({seed, holders: settings.holders, seats: settings.seats, downloadsEach: settings.downloadsEach * rounds, rounds});
	// Memory-backed when the machine has it: fsync on a busy disk would add noise that has nothing to do with the choice of holder.
	const root = await mkdtemp(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'xfs-selection-'));
	const latencyFile = path.join(root, 'latency.csv');
	await writeFile(latencyFile, latencyCsv(workload, configurations.length));
	const blob = path.join(root, 'blob.bin');
	await writeFile(blob, fileBytes(settings.fileBytes, seed));
	const warm = path.join(root, 'warm.txt');
	await writeFile(warm, 'warm-up\n');
	for (const [holder, names] of holdings(workload, settings.hostCounts, configurations.length)) {
		const dir = path.join(root, holder);
		await mkdir(dir);
		await Promise.all(names.map(async name => link(blob, path.join(dir, name))));
		await link(warm, path.join(dir, 'warm.txt'));
	}

	const tracker = startChild('tracker', programs.tracker, ['--port', '0', '--quiet']);
	const trackerUrl = (await tracker.next(line => line.startsWith('tracker listening on '), 30_000)).replace('tracker listening on ', '').trim();
	const uploadLimit = Math.round(settings.nominalUploadRate / settings.timeScale);
	await Promise.all(workload.holders.map(async holder => startPeer(holder, [
		'--dir', path.join(root, holder), '--tracker', trackerUrl, '--latency', latencyFile,
		'--latency-scale', String(settings.timeScale), '--upload-limit', String(uploadLimit), '--serve',
	])));
	log(`seed ${seed}: tracker and ${workload.holders.length} holders up`);
	const downloaders: Array<Map<string, Child>> = [];
	for (const [index, configuration] of configurations.entries()) {
		const bySeat = new Map<string, Child>();
		downloaders.push(bySeat);
		await Promise.all(workload.seats.map(async seat => {
			const id = downloaderId(seat, index);
			const dir = path.join(root, 'downloaders', id);
			await mkdir(dir, {recursive: true});
			const child = await startPeer(id, [
				'--dir', dir, '--tracker', trackerUrl, '--latency', latencyFile,
				'--latency-scale', String(settings.timeScale), '--policy', configuration.policy,
				...(configuration.k === undefined ? [] : ['--k', String(configuration.k)]),
			]);
			// One small download first, so no measured download pays for a cold start.
			await child.run('download warm.txt');
			bySeat.set(seat, child);
		}));
	}

	return {seed, tracker: trackerUrl, root, latencyFile, workload, configurations, downloaders};
}

async function stopNetwork(network: Network): Promise<void> {
	for (const child of started.splice(0)) {
		child.kill();
		await child.exited;
	}

	await rm(network.root, {recursive: true, force: true});
}

/** One configuration's downloaders fetch the file at once, each `downloadsEach` times in a row; one sample per download. */
async function runCell(settings: Settings, network: Network, {index, hosts, round}: {index: number; hosts: number; round: number}): Promise<Sample[]> {
	const configuration = network.configurations[index]!;
	const nominalTransferMs = (settings.fileBytes / settings.nominalUploadRate) * 1000;
	const samples: Sample[] = [];
	await Promise.all([...network.downloaders[index]!].map(async ([seat, child]) => {
		await sleep(network.workload.startOffsets.get(seat)![round]! * nominalTransferMs * settings.timeScale);
		for (let n = round * settings.downloadsEach; n < (round + 1) * settings.downloadsEach; n++) {
			const {result, ms} = await child.run(`download ${fileName(hosts, downloaderId(seat, index), n)}`);
			samples.push({seed: network.seed, round, configuration, hosts, seat, n, ms, ok: result.ok === true, from: result.from as string | undefined});
			if (result.ok !== true) {
				process.stderr.write(`  ${downloaderId(seat, index)}: ${JSON.stringify(result.error)}\n`);
			}
		}
	}));
	return samples;
}

function configurationsOf(settings: Settings): Configuration[] {
	return [
		{policy: 'latency'},
		{policy: 'load'},
		{policy: 'random'},
		...settings.kSweep.map(k => ({policy: 'cost' as Policy, k})),
	];
}

function formatMs(ms: number): string {
	return Number.isFinite(ms) ? ms.toFixed(1) : '';
}

async function main(): Promise<void> {
	const {values} = parseArgs({options: {
		quick: {type: 'boolean', default: false},
		out: {type: 'string'},
		'time-scale': {type: 'string'},
		rounds: {type: 'string'},
	}});
	const settings = settingsFor(values.quick!, values.out);
	if (values['time-scale'] !== undefined) {
		settings.timeScale = Number(values['time-scale']);
	}

	if (values.rounds !== undefined) {
		settings.rounds = Number(values.rounds);
	}

	if (!(settings.timeScale > 0 && settings.timeScale <= 1) || !(Number.isInteger(settings.rounds) && settings.rounds > 0)) {
		throw new Error('--time-scale must be in (0, 1] and --rounds a whole number > 0');
	}

	const began = performance.now();
	const log = (message: string) => {
		process.stdout.write(`[${((performance.now() - began) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
	};

	log(`selection study (${settings.mode}): ${settings.holders} holders, ${settings.seats} downloaders × ${settings.downloadsEach} downloads per cell, hosts ${settings.hostCounts.join(',')}, seeds ${settings.seeds.join(',')}, ${settings.rounds} rounds${settings.extraRoundsAtLargest > 0 ? ` + ${settings.extraRoundsAtLargest} at ${settings.hostCounts.at(-1)} hosts` : ''}, time scale ${settings.timeScale}`);
	await buildPrograms(programsDir);
	const configurations = configurationsOf(settings);
	const samples: Sample[] = [];
	for (const seed of settings.seeds) {
		const network = await startNetwork(settings, seed, configurations, log);
		log(`seed ${seed}: ${configurations.length} × ${settings.seats} downloaders up`);
		try {
			// Every round runs all cells in a shuffled order, so a change in machine load over the run favours no configuration.
			const random = seededRandom(seed * 7919);
			const rounds = settings.rounds + settings.extraRoundsAtLargest;
			for (let round = 0; round < rounds; round++) {
				const hostCounts = round < settings.rounds ? settings.hostCounts : settings.hostCounts.slice(-1);
				const cells = shuffle(hostCounts.flatMap(hosts => configurations.map((_, index) => ({index, hosts, round}))), random);
				for (const cell of cells) {
					samples.push(...await runCell(settings, network, cell));
				}

				const roundMeans = configurations.map(configuration => {
					const mine = samples.filter(sample => sample.configuration === configuration && sample.hosts === settings.hostCounts.at(-1));
					return `${configurationName(configuration)} ${Math.round(summarizeCell(mine).meanMs)}`;
				});
				log(`seed ${seed} round ${round + 1}/${rounds}${round < settings.rounds ? '' : ` (${settings.hostCounts.at(-1)} hosts only)`} done; so far, mean ms at ${settings.hostCounts.at(-1)} hosts: ${roundMeans.join(', ')}`);
			}
		} finally {
			await stopNetwork(network);
		}
	}

	const cell = (policy: Policy, k: number | undefined, hosts: number): Summary => summarizeCell(samples.filter(sample =>
		sample.configuration.policy === policy && sample.configuration.k === k && sample.hosts === hosts));
	const sweep = settings.kSweep.flatMap(k => settings.hostCounts.map(hosts => ({k, hosts, summary: cell('cost', k, hosts)})));
	// A replicate of the sweep is a round with every host count in it.
	const byK = meanByK(samples.filter(sample => sample.round < settings.rounds));
	const chosenK = chooseK(byK);
	const rows = (['cost', 'latency', 'load', 'random'] as const).flatMap(policy => settings.hostCounts.map(hosts => {
		const k = policy === 'cost' ? chosenK : undefined;
		return {policy, hosts, k, summary: cell(policy, k, hosts)};
	}));

	await mkdir(settings.outDir, {recursive: true});
	const summaryColumns = (summary: Summary) => [summary.downloads, summary.failed, formatMs(summary.meanMs), formatMs(summary.p95Ms), formatMs(summary.medianMs)].join(',');
	await writeFile(path.join(settings.outDir, 'selection.csv'), [
		'policy,hosts,k,downloads,failed,mean_ms,p95_ms,median_ms',
		...rows.map(({policy, hosts, k, summary}) => `${policy},${hosts},${k ?? ''},${summaryColumns(summary)}`),
	].join('\n') + '\n');
	await writeFile(path.join(settings.outDir, 'selection-k.csv'), [
		'k,hosts,downloads,failed,mean_ms,p95_ms,median_ms',
		...sweep.map(({k, hosts, summary}) => `${k},${hosts},${summaryColumns(summary)}`),
	].join('\n') + '\n');
	await writeFile(path.join(settings.outDir, 'selection-samples.csv'), [
		'seed,round,policy,k,hosts,seat,n,ok,from,ms',
		...samples.map(sample => `${sample.seed},${sample.round},${sample.configuration.policy},${sample.configuration.k ?? ''},${sample.hosts},${sample.seat},${sample.n},${sample.ok},${sample.from ?? ''},${sample.ms.toFixed(1)}`),
	].join('\n') + '\n');
	const elapsedS = (performance.now() - began) / 1000;
	await writeFile(path.join(settings.outDir, 'selection-settings.json'), `${JSON.stringify({
		...settings, outDir: undefined, chosenK, kSweepMeans: byK, uploadLimit: Math.round(settings.nominalUploadRate / settings.timeScale),
		elapsedS: Math.round(elapsedS), cpus: os.cpus().length, node: process.version, date: new Date().toISOString(),
	}, null, '\t')}\n`);
	const charts = await renderCharts(settings.outDir, settings.mode === 'quick' ? ' (quick run)' : '');

	const means = new Map(['cost', 'latency', 'load', 'random'].map(policy => [policy, new Map(rows.filter(row => row.policy === policy).map(row => [row.hosts, row.summary.meanMs]))]));
	log(`k sweep, mean ms over hosts ≥ 2 (± standard error): ${byK.map(({k, meanMs, standardErrorMs}) => `k=${k} ${meanMs.toFixed(1)} ± ${standardErrorMs.toFixed(1)}`).join(', ')} → k = ${chosenK}`);
	const first = settings.hostCounts[0]!;
	const last = settings.hostCounts.at(-1)!;
	process.stdout.write(`\npolicy     mean ms at ${first} host   at ${last} hosts   p95 at ${last}\n`);
	for (const {policy, hosts, summary} of rows.filter(row => row.hosts === last)) {
		const atFirst = means.get(policy)!.get(first)!;
		process.stdout.write(`${policy.padEnd(10)} ${formatMs(atFirst).padStart(14)} ${formatMs(summary.meanMs).padStart(12)} ${formatMs(summary.p95Ms).padStart(11)}${hosts === last && policy === 'cost' ? `   (k=${chosenK})` : ''}\n`);
	}

	const failed = samples.filter(sample => !sample.ok).length;
	process.stdout.write(`\n${samples.length} downloads, ${failed} failed; wrote ${path.relative(repoRoot, settings.outDir)}/: selection.csv, selection-k.csv, ${charts.map(file => path.basename(file)).join(', ')}\n`);
	const verdicts = checkExpectation(means, settings.hostCounts);
	for (const verdict of verdicts) {
		process.stdout.write(`${verdict.holds ? 'HOLDS ' : 'FAILS '} ${verdict.claim}: ${verdict.detail}\n`);
	}

	log('done');
	process.exitCode = failed > 0 ? 1 : 0;
}

const cleanUp = () => {
	for (const child of started) {
		child.kill();
	}
};

process.once('SIGINT', () => {
	cleanUp();
	process.exit(130);
});

try {
	await main();
} finally {
	cleanUp();
}
