/**
 * npm run bench:multisource [-- --quick] [--size-mib 48] [--upload-limit 4194304] [--runs 3] [--max-holders 4] [--only <holders>]
 *
 * One tracker and up to four holders (A-D, latencies from latency.csv at --latency-scale 0.1),
 * each capped by --upload-limit. For 1..4 holders of the same file, a fresh downloader fetches it
 * with --max-sources 1 and with the default, side by side in one run (the order alternates per
 * run). With 3 holders, `aria2c -s 3 -x 3` fetches the same file from the same three holders in
 * the same run, when aria2c is installed (it does not verify what it fetched; the bench checks
 * its md5 afterwards, untimed). Writes bench/results/multisource-runs.csv (every download),
 * multisource.csv (medians and speed-up per holder count), multisource-aria2c.csv (xfs against
 * aria2c) and multisource.svg (speed-up against holders); --quick, and --only (one holder count
 * measured), write them under bench/results/quick/.
 */
import {type ChildProcessWithoutNullStreams, spawn, spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {link, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';
import {deterministicBytes} from '../fixtures/generate.js';
import {renderSpeedupChart, resultsDir} from './multisource-chart.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const holderIds = ['A', 'B', 'C', 'D'];
const latencyScale = 0.1;

const {values: options} = parseArgs({
	options: {
		quick: {type: 'boolean', default: false},
		'size-mib': {type: 'string'},
		'upload-limit': {type: 'string', default: String(4 * 1024 * 1024)},
		runs: {type: 'string'},
		'max-holders': {type: 'string', default: '4'},
		only: {type: 'string'},
	},
});
const sizeMib = Number(options['size-mib'] ?? 48);
const uploadLimit = Number(options['upload-limit']);
// 48 MiB is twelve 4 MiB parts: an even share for 1, 2, 3 and 4 holders. --quick measures once.
const runs = Number(options.runs ?? (options.quick ? 1 : 3));
const maxHolders = Math.min(holderIds.length, Number(options['max-holders']));
const only = options.only === undefined ? undefined : Number(options.only);
const counts = Array.from({length: maxHolders}, (_, index) => index + 1).filter(holders => only === undefined || holders === only);
for (const [name, value] of [['--size-mib', sizeMib], ['--upload-limit', uploadLimit], ['--runs', runs], ['--max-holders', maxHolders], ['--only', only ?? 1]] as const) {
	if (!Number.isInteger(value) || value < 1) {
		process.stderr.write(`bench:multisource: ${name} must be a whole number >= 1\n`);
		process.exit(2);
	}
}

if (counts.length === 0) {
	process.stderr.write(`bench:multisource: --only must be at most --max-holders (${maxHolders})\n`);
	process.exit(2);
}

/**
 * The holder count aria2c is compared at, and its command (without the URLs): one connection per
 * holder; -k 1M lets it cut the file in three (its default, 20M, splits 48 MiB in two ranges only).
 */
const aria2Holders = 3;
const aria2Args = (dir: string, name: string) => [
	'-s', '3', '-x', '3', '-k', '1M', '--header', 'X-Xfs-Peer: me', '-d', dir, '-o', name,
	'--allow-overwrite=true', '--auto-file-renaming=false', '--console-log-level=warn', '--summary-interval=0', '--download-result=hide',
];
const aria2Version = spawnSync('aria2c', ['--version'], {encoding: 'utf8'});
const aria2 = aria2Version.status === 0 ? aria2Version.stdout.split('\n')[0]! : undefined;

type Process = {child: ChildProcessWithoutNullStreams; lines: AsyncIterator<string>; exited: Promise<unknown>};

function start(entry: string, args: string[]): Process {
	const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, entry), ...args], {cwd: repoRoot, stdio: 'pipe', env: {...process.env, NO_COLOR: '1'}});
	child.stderr.resume();
	const exited = new Promise(resolve => {
		child.once('exit', resolve);
	});
	return {child, lines: lineReader(child.stdout), exited};
}

async function * lineReader(stream: NodeJS.ReadableStream): AsyncGenerator<string> {
	let buffer = '';
	for await (const chunk of stream) {
		buffer += String(chunk);
		let newline: number;
		while ((newline = buffer.indexOf('\n')) !== -1) {
			yield buffer.slice(0, newline);
			buffer = buffer.slice(newline + 1);
		}
	}
}

async function nextLine(process: Process, match: (line: string) => boolean): Promise<string> {
	for (;;) {
		const {value, done} = await process.lines.next();
		if (done) {
			throw new Error('process ended before the expected line');
		}

		if (match(value)) {
			return value;
		}
	}
}

const peerArgs = (id: string, dir: string, tracker: string) => [
	'--id', id, '--dir', dir, '--tracker', tracker, '--json', '--heartbeat-ms', '1000',
	'--latency', path.join(repoRoot, 'latency.csv'), '--latency-scale', String(latencyScale),
];

const root = await mkdtemp(path.join(tmpdir(), 'xfs-bench-multisource-'));
const children: Process[] = [];
const stopAll = async () => {
	for (const child of children) {
		child.child.kill('SIGTERM');
	}

	await Promise.all(children.map(async child => child.exited));
	await rm(root, {recursive: true, force: true});
};

process.once('SIGINT', () => {
	void stopAll().then(() => process.exit(130));
});

try {
	const content = deterministicBytes(sizeMib * 1024 * 1024, 71);
	const md5 = createHash('md5').update(content).digest('hex');
	const original = path.join(root, 'content.bin');
	await writeFile(original, content);
	const fileFor = (holders: number) => `holders-${holders}.bin`;
	for (const [index, id] of holderIds.slice(0, maxHolders).entries()) {
		await mkdir(path.join(root, id));
		// Holder i holds the files of every count above i: the same bytes under each name.
		for (let holders = index + 1; holders <= maxHolders; holders++) {
			await link(original, path.join(root, id, fileFor(holders)));
		}
	}

	const tracker = start('tracker/cli.ts', ['--port', '0', '--quiet']);
	children.push(tracker);
	const trackerUrl = (await nextLine(tracker, line => line.startsWith('tracker listening on '))).replace('tracker listening on ', '').trim();
	const holderUrls: string[] = [];
	for (const id of holderIds.slice(0, maxHolders)) {
		const holder = start('source/cli.tsx', [...peerArgs(id, path.join(root, id), trackerUrl), '--serve', '--upload-limit', String(uploadLimit)]);
		children.push(holder);
		holderUrls.push((JSON.parse(await nextLine(holder, line => line.includes('"event":"ready"'))) as {url: string}).url);
	}

	// Each holder hashes its parts lists once up front, as a long-running holder would have.
	for (const [index, url] of holderUrls.entries()) {
		for (let holders = index + 1; holders <= maxHolders; holders++) {
			await (await fetch(`${url}/files/${fileFor(holders)}/parts`)).arrayBuffer();
		}
	}

	process.stdout.write(`file ${sizeMib} MiB, upload limit ${uploadLimit} B/s per holder, latency scale ${latencyScale}, ${runs} run(s)\n`);
	const withAria2 = aria2 !== undefined && counts.includes(aria2Holders);
	process.stdout.write(withAria2
		? `with ${aria2Holders} holders also ${aria2}: aria2c ${aria2Args('<dir>', '<name>').join(' ')} <the ${aria2Holders} holders' /files/<name>>\n`
		: `no aria2c row: ${aria2 === undefined ? 'aria2c is not installed (apt-get install -y aria2)' : `${aria2Holders} holders are not measured`}\n`);
	type Mode = 'single' | 'multi' | 'aria2c';
	const rows: Array<{holders: number; mode: Mode; run: number; ms: number; sources: number}> = [];
	for (let run = 1; run <= runs; run++) {
		for (const holders of counts) {
			const these: Mode[] = withAria2 && holders === aria2Holders ? ['single', 'multi', 'aria2c'] : ['single', 'multi'];
			const modes = run % 2 === 1 ? these : [...these].reverse();
			for (const mode of modes) {
				if (mode === 'aria2c') {
					rows.push({holders, mode, run, ms: await aria2Download(holderUrls.slice(0, holders), fileFor(holders), path.join(root, `aria2c-${run}`), md5), sources: holders});
					process.stdout.write(`  run ${run}  holders ${holders}  ${mode.padEnd(6)} ${String(rows.at(-1)!.ms).padStart(7)} ms  (${holders} sources, not verified by aria2c)\n`);
					continue;
				}

				const dir = path.join(root, `me-${holders}-${mode}-${run}`);
				await mkdir(dir);
				const me = start('source/cli.tsx', [...peerArgs('me', dir, trackerUrl), ...(mode === 'single' ? ['--max-sources', '1'] : [])]);
				children.push(me);
				await nextLine(me, line => line.includes('"event":"ready"'));
				const started = performance.now();
				me.child.stdin.write(`download ${fileFor(holders)}\n`);
				const result = JSON.parse(await nextLine(me, line => line.startsWith('{"cmd"'))) as {ok: boolean; md5?: string; sources?: unknown[]; error?: unknown};
				const ms = Math.round(performance.now() - started);
				me.child.stdin.end();
				await me.exited;
				children.splice(children.indexOf(me), 1);
				await rm(dir, {recursive: true, force: true});
				if (!result.ok || result.md5 !== md5) {
					throw new Error(`download with ${holders} holder(s), ${mode}: ${JSON.stringify(result)}`);
				}

				const sources = result.sources?.length ?? 1;
				rows.push({holders, mode, run, ms, sources});
				process.stdout.write(`  run ${run}  holders ${holders}  ${mode.padEnd(6)} ${String(ms).padStart(7)} ms  (${sources} source${sources === 1 ? '' : 's'})\n`);
			}
		}
	}

	const median = (values: number[]) => {
		const sorted = [...values].sort((a, b) => a - b);
		const middle = Math.floor(sorted.length / 2);
		return sorted.length % 2 === 1 ? sorted[middle]! : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2);
	};

	const summary = counts.map(holders => {
		const single = median(rows.filter(row => row.holders === holders && row.mode === 'single').map(row => row.ms));
		const multi = median(rows.filter(row => row.holders === holders && row.mode === 'multi').map(row => row.ms));
		return {holders, single, multi, speedup: single / multi};
	});
	// A quick run does not replace the full run's results.
	const outDir = options.quick || only !== undefined ? path.join(resultsDir, 'quick') : resultsDir;
	await mkdir(outDir, {recursive: true});
	await writeFile(path.join(outDir, 'multisource-runs.csv'), ['holders,mode,run,ms,sources', ...rows.map(row => `${row.holders},${row.mode},${row.run},${row.ms},${row.sources}`)].join('\n') + '\n');
	const csv = ['holders,single_ms,multi_ms,speedup', ...summary.map(row => `${row.holders},${row.single},${row.multi},${row.speedup.toFixed(2)}`)].join('\n') + '\n';
	await writeFile(path.join(outDir, 'multisource.csv'), csv);
	const subtitle = `${sizeMib} MiB file, each holder capped at ${(uploadLimit / 1024 / 1024).toFixed(1)} MiB/s, median of ${runs} run(s)`;
	await writeFile(path.join(outDir, 'multisource.svg'), await renderSpeedupChart(csv, subtitle));

	process.stdout.write('\nholders  --max-sources 1  default (4)  speed-up\n');
	for (const row of summary) {
		process.stdout.write(`${String(row.holders).padStart(7)}  ${`${row.single} ms`.padStart(15)}  ${`${row.multi} ms`.padStart(11)}  ${row.speedup.toFixed(2).padStart(7)}x\n`);
	}

	if (withAria2) {
		const xfs = summary.find(row => row.holders === aria2Holders)!.multi;
		const aria2c = median(rows.filter(row => row.mode === 'aria2c').map(row => row.ms));
		await writeFile(path.join(outDir, 'multisource-aria2c.csv'), `# ${aria2}\nholders,xfs_ms,aria2c_ms,xfs_vs_aria2c\n${aria2Holders},${xfs},${aria2c},${(xfs / aria2c).toFixed(2)}\n`);
		process.stdout.write(`\nwith ${aria2Holders} holders: xfs (default) ${xfs} ms, aria2c -s 3 -x 3 ${aria2c} ms: ${(xfs / aria2c).toFixed(2)}x\n`);
	}

	process.stdout.write(`\nwrote ${path.relative(repoRoot, outDir)}/multisource.csv, multisource-runs.csv, ${withAria2 ? 'multisource-aria2c.csv, ' : ''}multisource.svg\n`);
} finally {
	await stopAll();
}

/** aria2c fetching `name` from every URL at once; resolves with its wall time, once its bytes were checked against `md5`. */
async function aria2Download(urls: string[], name: string, dir: string, md5: string): Promise<number> {
	await mkdir(dir, {recursive: true});
	const started = performance.now();
	const child = spawn('aria2c', [...aria2Args(dir, name), ...urls.map(url => `${url}/files/${name}`)], {stdio: ['ignore', 'ignore', 'pipe']});
	let stderr = '';
	child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
		stderr += chunk;
	});
	const code = await new Promise<number | null>(resolve => {
		child.once('exit', resolve);
	});
	const ms = Math.round(performance.now() - started);
	const got = code === 0 ? createHash('md5').update(await readFile(path.join(dir, name))).digest('hex') : undefined;
	await rm(dir, {recursive: true, force: true});
	if (got !== md5) {
		throw new Error(`aria2c exited ${code}${got ? ` with md5 ${got}, expected ${md5}` : ''}: ${stderr.trim()}`);
	}

	return ms;
}
