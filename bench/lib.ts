/** What the benches share: the built programs as real processes, their peak memory, test data, tables and CSV. */
import {type ChildProcessWithoutNullStreams, spawn} from 'node:child_process';
import {randomFillSync} from 'node:crypto';
import {existsSync, readdirSync, readFileSync} from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {LineLog} from '../test/helpers/processes.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const resultsDir = path.join(repoRoot, 'bench', 'results');
const peerBin = path.join(repoRoot, 'dist', 'source', 'cli.js');
const trackerBin = path.join(repoRoot, 'dist', 'tracker', 'cli.js');

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** The shipped programs (dist/) are measured, as `npx xfs-peer` runs them; `npm run build` first. */
export function assertBuilt(): void {
	if (!existsSync(peerBin) || !existsSync(trackerBin)) {
		throw new Error('dist/ is missing: run `npm run build` first (the bench:* scripts do)');
	}
}

export type Proc = {
	child: ChildProcessWithoutNullStreams;
	pid: number;
	stdout: LineLog;
	stderr: LineLog;
	/** Sends SIGTERM and waits for the exit (SIGKILL after 5 s). */
	stop: () => Promise<void>;
};

const running = new Set<Proc>();
/** Node options for every process a bench starts, e.g. `XFS_BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'` to profile them (NODE_OPTIONS refuses --cpu-prof). */
const extraNodeArgs = (process.env.XFS_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

export function startProcess(file: string, args: string[], {env = {}, nodeArgs = []}: {env?: Record<string, string>; nodeArgs?: string[]} = {}): Proc {
	const child = spawn(process.execPath, [...extraNodeArgs, ...nodeArgs, file, ...args], {cwd: repoRoot, env: {...process.env, NO_COLOR: '1', ...env}, stdio: 'pipe'});
	const exited = new Promise<void>(resolve => {
		child.once('exit', () => {
			resolve();
		});
	});
	const proc: Proc = {
		child,
		pid: child.pid!,
		stdout: new LineLog(child.stdout),
		stderr: new LineLog(child.stderr),
		async stop() {
			running.delete(proc);
			if (child.exitCode !== null || child.signalCode !== null) {
				return;
			}

			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
			await exited;
			clearTimeout(timer);
		},
	};
	running.add(proc);
	return proc;
}

/** Stops every process a bench started (also on failure). */
export async function stopAll(): Promise<void> {
	await Promise.all([...running].map(async proc => proc.stop()));
}

/** A tracker process; `bin` another build's tracker (a reference from before a change). */
export async function startTrackerProcess(args: string[] = [], bin = trackerBin): Promise<Proc & {url: string}> {
	const proc = startProcess(bin, ['--port', '0', '--quiet', ...args]);
	const ready = await proc.stdout.next(/^tracker listening on /, 60_000);
	return {...proc, url: ready.replace('tracker listening on ', '').trim()};
}

export type PeerProc = Proc & {
	url: string;
	/** Sends one command; resolves with its JSON result. */
	run: (line: string, timeoutMs?: number) => Promise<Record<string, any>>;
};

/** A peer as a user runs it; without `tracker`, it is given none (a DHT peer: --bootstrap or --dht-port in `args`). */
export async function startPeerProcess({id, dir, tracker, args = [], readyTimeoutMs = 120_000}: {id: string; dir: string; tracker?: string; args?: string[]; readyTimeoutMs?: number}): Promise<PeerProc> {
	const proc = startProcess(peerBin, ['--id', id, '--dir', dir, ...(tracker === undefined ? [] : ['--tracker', tracker]), '--json', ...args]);
	const ready = JSON.parse(await proc.stdout.next(line => line.includes('"event":"ready"'), readyTimeoutMs)) as {url: string};
	return {
		...proc,
		url: ready.url,
		async run(line, timeoutMs = 600_000) {
			proc.child.stdin.write(`${line}\n`);
			return JSON.parse(await proc.stdout.next(candidate => candidate.startsWith('{"cmd"'), timeoutMs)) as Record<string, any>;
		},
	};
}

/** Peak resident memory (VmHWM) and current resident memory (VmRSS) of a live process, in bytes. */
export function memoryOf(pid: number): {peak: number; current: number} {
	const status = readFileSync(`/proc/${pid}/status`, 'utf8');
	const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * KiB;
	return {peak: field('VmHWM'), current: field('VmRSS')};
}

/** CPU time (user + system) a live process has used so far, in ms. */
export function cpuMsOf(pid: number): number {
	const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
	// Fields 14 and 15 of /proc/<pid>/stat (utime, stime), in clock ticks of 10 ms.
	return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU time (user + system) of each thread of a live process so far, in ms, by thread id. */
export function threadCpuMsOf(pid: number): Map<number, number> {
	const threads = new Map<number, number>();
	for (const tid of readdirSync(`/proc/${pid}/task`)) {
		try {
			const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
			threads.set(Number(tid), (Number(fields[11]) + Number(fields[12])) * 10);
		} catch {
			// The thread ended meanwhile.
		}
	}

	return threads;
}

/**
 * Where a peer's CPU went between two threadCpuMsOf readings: its main thread, its busiest other
 * thread (a downloader's hashing thread) and the rest (V8's GC helpers, libuv's pool, other workers).
 */
export function splitThreadCpu(pid: number, before: Map<number, number>, after: Map<number, number>): {main: number; busiest: number; rest: number} {
	const spent = [...after].map(([tid, ms]) => ({tid, ms: ms - (before.get(tid) ?? 0)}));
	const main = spent.find(thread => thread.tid === pid)?.ms ?? 0;
	const others = spent.filter(thread => thread.tid !== pid).map(thread => thread.ms).sort((a, b) => b - a);
	return {main, busiest: others[0] ?? 0, rest: others.slice(1).reduce((sum, ms) => sum + ms, 0)};
}

/** CPU time this process has used so far, in ms. */
export function ownCpuMs(): number {
	const {user, system} = process.cpuUsage();
	return (user + system) / 1000;
}

/** A fresh folder under bench/tmp/ (ignored by git), removed by the returned function. */
export async function benchTempDir(prefix: string): Promise<{dir: string; remove: () => Promise<void>}> {
	const base = path.join(repoRoot, 'bench', 'tmp');
	await fs.mkdir(base, {recursive: true});
	const dir = await fs.mkdtemp(path.join(base, `${prefix}-`));
	return {dir, remove: async () => fs.rm(dir, {recursive: true, force: true})};
}

/** Writes `size` pseudo-random bytes (incompressible, so no layer can shortcut them), 4 MiB at a time. */
export async function writeRandomFile(file: string, size: number): Promise<void> {
	const handle = await fs.open(file, 'wx');
	try {
		const chunk = Buffer.allocUnsafe(Math.max(1, Math.min(4 * MiB, size)));
		for (let written = 0; written < size;) {
			const length = Math.min(chunk.length, size - written);
			randomFillSync(chunk, 0, length);
			await handle.write(chunk, 0, length);
			written += length;
		}
	} finally {
		await handle.close();
	}
}

/** Free bytes on the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
	const stats = await fs.statfs(dir);
	return stats.bavail * stats.bsize;
}

export async function requireFreeSpace(dir: string, needed: number): Promise<void> {
	const free = await freeBytes(dir);
	if (free < needed) {
		throw new Error(`needs ${formatBytes(needed)} free under ${dir}, only ${formatBytes(free)} available`);
	}
}

export function describeMachine(): string {
	const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown CPU';
	const load = os.loadavg().map(value => value.toFixed(2)).join(' ');
	return `${os.availableParallelism()} cores (${cpuModel}), ${formatBytes(os.totalmem())} RAM, Node ${process.version}, ${os.platform()} ${os.release()}; load average at start ${load}`;
}

export function formatBytes(bytes: number): string {
	if (bytes >= GiB) {
		return `${(bytes / GiB).toFixed(bytes % GiB === 0 ? 0 : 2)} GiB`;
	}

	if (bytes >= MiB) {
		return `${(bytes / MiB).toFixed(bytes % MiB === 0 ? 0 : 1)} MiB`;
	}

	return `${(bytes / KiB).toFixed(0)} KiB`;
}

export function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A plain-text table with aligned columns. */
export function formatTable(header: string[], rows: Array<Array<string | number>>): string {
	const cells = [header, ...rows.map(row => row.map(String))];
	const widths = header.map((_, column) => Math.max(...cells.map(row => row[column]!.length)));
	const line = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
	return [line(header), line(widths.map(width => '-'.repeat(width))), ...cells.slice(1).map(line)].join('\n');
}

/** Saves rows as CSV under bench/results/, with the machine in a leading comment line. */
export async function saveCsv(fileName: string, header: string[], rows: Array<Array<string | number>>, machine: string): Promise<string> {
	await fs.mkdir(resultsDir, {recursive: true});
	const file = path.join(resultsDir, fileName);
	const quote = (cell: string | number) => (typeof cell === 'number' || !/[",\n]/.test(cell) ? String(cell) : `"${cell.replaceAll('"', '""')}"`);
	const text = [`# ${new Date().toISOString()} ${machine}`, header.join(','), ...rows.map(row => row.map(quote).join(','))].join('\n');
	await fs.writeFile(file, `${text}\n`);
	return file;
}

/** Runs `command` under sh; resolves with its wall time and the CPU time of the shell and its children (ms); rejects on a non-zero exit. */
export async function timeShell(command: string): Promise<{wallMs: number; cpuMs: number}> {
	const started = performance.now();
	const stderr = await new Promise<string>((resolve, reject) => {
		// `times` (POSIX) prints the CPU time of the shell, then of its children.
		const child = spawn('sh', ['-c', `set -e; ${command}; times >&2`], {stdio: ['ignore', 'ignore', 'pipe']});
		let text = '';
		child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
			text += chunk;
		});
		child.once('exit', code => {
			if (code === 0) {
				resolve(text);
			} else {
				reject(new Error(`\`${command}\` exited ${code}: ${text.trim()}`));
			}
		});
	});
	const wallMs = performance.now() - started;
	const lines = stderr.trim().split('\n');
	const seconds = (text: string) => [...text.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, [, minutes, secs]) => sum + (Number(minutes) * 60) + Number(secs), 0);
	return {wallMs, cpuMs: (seconds(lines.at(-1) ?? '') + seconds(lines.at(-2) ?? '')) * 1000};
}

/** Flags of the form `--name value`, with defaults. */
export function benchFlags(defaults: Record<string, string>): Record<string, string> {
	const values = {...defaults};
	const argv = process.argv.slice(2);
	for (let index = 0; index < argv.length; index++) {
		const flag = argv[index]!;
		const name = flag.replace(/^--/, '');
		if (!flag.startsWith('--') || !(name in values) || argv[index + 1] === undefined) {
			process.stderr.write(`unknown or incomplete flag ${flag}; known: ${Object.keys(values).map(key => `--${key}`).join(' ')}\n`);
			process.exit(2);
		}

		values[name] = argv[++index]!;
	}

	return values;
}
