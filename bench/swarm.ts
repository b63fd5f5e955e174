/**
 * npm run bench:swarm [-- --size-mib 64] [--upload-limit 4194304] [--part-size 1048576] [--crowd 8] [--scaling 2,4,8,16] [--modes swarm,no-swarm] [--quick]
 *
 * Flash crowd: one seed capped at --upload-limit, N downloaders (each capped the same) start the
 * same file at once; the time until the last one is done, with the swarm (the default) and with
 * --no-swarm, in the same run, against one download alone measured first. Also the bytes the seed
 * sent for the whole crowd (from its GET /load), against the file size. Writes
 * bench/results/swarm.csv, swarm-chart.json (a vega-lite spec) and swarm.svg; --quick (a 16 MiB
 * file, 2, 4 and 8 downloaders) writes them under bench/results/quick/.
 */
import {createHash} from 'node:crypto';
import {mkdir, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {deterministicBytes} from '../fixtures/generate.js';
import {writeSwarmChart} from './swarm-chart.js';
import {assertBuilt, benchTempDir, cpuMsOf, benchFlags, describeMachine, MiB, resultsDir, saveCsv, startPeerProcess, startTrackerProcess, stopAll, type PeerProc} from './lib.js';

const flags = benchFlags({'size-mib': '', 'upload-limit': String(4 * MiB), 'part-size': String(MiB), crowd: '8', scaling: '', modes: 'swarm,no-swarm', quick: 'false'});
const quick = flags.quick === 'true';
const sizeMib = Number(flags['size-mib'] || (quick ? 16 : 64));
const uploadLimit = Number(flags['upload-limit']);
const partSize = Number(flags['part-size']);
const crowd = Number(flags.crowd);
const scaling = (flags.scaling || (quick ? '2,4,8' : '2,4,8,16')).split(',').map(Number);
const counts = [...new Set([...scaling, crowd])].sort((a, b) => a - b);
const onlyModes = new Set(flags.modes.split(','));
const fileName = 'crowd.bin';
assertBuilt();

type Mode = 'swarm' | 'no-swarm';
type Row = {downloaders: number; mode: Mode; lastMs: number; firstMs: number; meanMs: number; seedBytes: number; fromSeed: number; fromPartial: number; received: number};
type Source = {id: string; parts: number; received: number};

const {dir: root, remove} = await benchTempDir('xfs-bench-swarm-');
const content = deterministicBytes(sizeMib * MiB, 97);
const md5 = createHash('md5').update(content).digest('hex');

/** Common flags: no emulated latency (the upload limits are what is measured), a tracker heartbeat of 1 s. */
const peerArgs = (mode: Mode) => ['--latency-scale', '0', '--heartbeat-ms', '1000', '--part-size', String(partSize), '--upload-limit', String(uploadLimit), ...(mode === 'no-swarm' ? ['--no-swarm'] : [])];

async function crowdRun(downloaders: number, mode: Mode): Promise<Row> {
	const runDir = path.join(root, `${mode}-${downloaders}`);
	await mkdir(path.join(runDir, 'seed'), {recursive: true});
	await writeFile(path.join(runDir, 'seed', fileName), content);
	const tracker = await startTrackerProcess();
	const seed = await startPeerProcess({id: 'seed', dir: path.join(runDir, 'seed'), tracker: tracker.url, args: [...peerArgs(mode), '--serve']});
	// The seed hashes its parts list once, before the crowd arrives (as a long-running holder has).
	await (await fetch(`${seed.url}/files/${fileName}/parts`)).arrayBuffer();
	const peers: PeerProc[] = [];
	for (let index = 0; index < downloaders; index++) {
		const dir = path.join(runDir, `d${index}`);
		await mkdir(dir);
		peers.push(await startPeerProcess({id: `d${index}`, dir, tracker: tracker.url, args: peerArgs(mode)}));
	}

	for (;;) {
		const found = await (await fetch(`${tracker.url}/files/${fileName}`)).json() as {peers?: unknown[]};
		if (found.peers?.length === 1) {
			break;
		}

		await new Promise(resolve => {
			setTimeout(resolve, 100);
		});
	}

	const started = performance.now();
	// XFS_BENCH_TRACE=1: each second, every peer's upload rate (MiB/s) from its GET /load, seed first; at the end, each one's CPU time.
	const trace = process.env.XFS_BENCH_TRACE === '1' ? traceUploads([seed, ...peers], started) : undefined;
	const results = await Promise.all(peers.map(async peer => {
		const result = await peer.run(`download ${fileName}`, 1_200_000);
		if (!result.ok || result.md5 !== md5) {
			throw new Error(`${mode} ${downloaders}: ${JSON.stringify(result)}`);
		}

		return {ms: performance.now() - started, sources: (result.sources ?? []) as Source[]};
	}));
	// Where the parts came from: the bytes each downloader received from the seed and from the others
	// (cancelled racers included, so received beyond the file size is duplicated work).
	const sum = (sources: readonly Source[], pick: (source: Source) => boolean) => sources.filter(source => pick(source)).reduce((total, source) => total + source.received, 0);
	const fromSeed = results.reduce((total, {sources}) => total + sum(sources, source => source.id === 'seed'), 0);
	const fromPartial = results.reduce((total, {sources}) => total + sum(sources, source => source.id !== 'seed'), 0);
	const times = results.map(({ms}) => ms);
	trace?.stop();
	if (trace) {
		process.stderr.write(`  cpu s: tracker ${(cpuMsOf(tracker.pid) / 1000).toFixed(1)}, seed ${(cpuMsOf(seed.pid) / 1000).toFixed(1)}, downloaders ${peers.map(peer => (cpuMsOf(peer.pid) / 1000).toFixed(1)).join(' ')}\n`);
	}

	const {uploaded} = await (await fetch(`${seed.url}/load`)).json() as {uploaded: number};
	await stopAll();
	const row: Row = {
		downloaders, mode, lastMs: Math.round(Math.max(...times)), firstMs: Math.round(Math.min(...times)),
		meanMs: Math.round(times.reduce((sum, time) => sum + time, 0) / times.length), seedBytes: uploaded,
		fromSeed, fromPartial, received: fromSeed + fromPartial,
	};
	process.stdout.write(`  ${mode.padEnd(8)} ${String(downloaders).padStart(2)} downloaders: last ${(row.lastMs / 1000).toFixed(1)} s, first ${(row.firstMs / 1000).toFixed(1)} s, seed sent ${(uploaded / content.length).toFixed(2)}x the file; downloaders received ${(fromSeed / content.length).toFixed(2)}x from the seed, ${(fromPartial / content.length).toFixed(2)}x from each other (${((fromSeed + fromPartial) / (content.length * downloaders)).toFixed(2)}x what they needed)\n`);
	return row;
}

function traceUploads(peers: readonly PeerProc[], started: number): {stop: () => void} {
	let stopped = false;
	const uploadedBy = async (peer: PeerProc) => fetch(`${peer.url}/load`).then(async reply => ((await reply.json()) as {uploaded: number}).uploaded, () => 0);
	void (async () => {
		let last = peers.map(() => 0);
		let lastAt = performance.now();
		while (!stopped) {
			await new Promise(resolve => {
				setTimeout(resolve, 1000);
			});
			const now = await Promise.all(peers.map(async peer => uploadedBy(peer)));
			// Over the time since the last sample, which on a busy machine is more than the second asked for.
			const at = performance.now();
			const rates = now.map((value, index) => ((value - last[index]!) / MiB / ((at - lastAt) / 1000)).toFixed(1));
			last = now;
			lastAt = at;

			process.stderr.write(`  t=${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s up MiB/s: ${rates.join(' ')}\n`);
		}
	})();

	return {
		stop() {
			stopped = true;
		},
	};
}

const outDir = quick ? path.join(resultsDir, 'quick') : resultsDir;
const header = ['downloaders', 'mode', 'last_ms', 'first_ms', 'mean_ms', 'seed_bytes', 'seed_bytes_per_file', 'vs_alone', 'received_from_seed', 'received_from_downloaders', 'received_per_needed'];

/** Saved after every run: a run cut short keeps what it measured. */
async function save(rows: readonly Row[], alone: Row): Promise<string> {
	await mkdir(outDir, {recursive: true});
	const table = rows.map(row => [row.downloaders, row.mode, row.lastMs, row.firstMs, row.meanMs, row.seedBytes, (row.seedBytes / content.length).toFixed(2), (row.lastMs / alone.lastMs).toFixed(2), row.fromSeed, row.fromPartial, (row.received / (content.length * row.downloaders)).toFixed(2)]);
	return saveCsv(path.join(path.relative(resultsDir, outDir), 'swarm.csv'), header, table, describeMachine());
}

try {
	process.stdout.write(`${describeMachine()}\nfile ${sizeMib} MiB in ${partSize / MiB} MiB parts, every peer --upload-limit ${uploadLimit} B/s\n`);
	const alone = await crowdRun(1, 'swarm');
	const rows: Row[] = [alone];
	let csvPath = await save(rows, alone);
	for (const downloaders of counts) {
		// Both modes side by side at each size; the order alternates.
		const modes = (downloaders % 4 === 0 ? ['swarm', 'no-swarm'] as const : ['no-swarm', 'swarm'] as const).filter(mode => onlyModes.has(mode));
		for (const mode of modes) {
			rows.push(await crowdRun(downloaders, mode));
			csvPath = await save(rows, alone);
		}
	}

	await writeSwarmChart(outDir, rows.filter(row => row !== alone).map(row => ({downloaders: row.downloaders, mode: row.mode, lastMs: row.lastMs})), {aloneMs: alone.lastMs, sizeMib, partSize, uploadLimit});
	const at = (mode: Mode) => rows.find(row => row.downloaders === crowd && row.mode === mode && row !== alone);
	const swarm = at('swarm');
	const noSwarm = at('no-swarm');
	if (swarm && noSwarm) {
		process.stdout.write(`\none alone ${(alone.lastMs / 1000).toFixed(1)} s; ${crowd} at once: swarm ${(swarm.lastMs / 1000).toFixed(1)} s (${(swarm.lastMs / alone.lastMs).toFixed(2)}x alone, target <= 1.5x), --no-swarm ${(noSwarm.lastMs / 1000).toFixed(1)} s (${(noSwarm.lastMs / swarm.lastMs).toFixed(2)}x the swarm's, target >= 4x); seed sent ${(swarm.seedBytes / content.length).toFixed(2)}x the file\n`);
	}

	process.stdout.write(`wrote ${path.relative(process.cwd(), csvPath)}, swarm-chart.json, swarm.svg\n`);
} finally {
	await stopAll();
	await remove();
}
