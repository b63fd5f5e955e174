/** Real tracker and peer child processes for integration tests: started on port 0, awaited on their output, killed at teardown. */
import {type ChildProcessWithoutNullStreams, spawn} from 'node:child_process';
import {readdirSync, statSync} from 'node:fs';
import {cp, mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import type {ExecutionContext} from 'ava';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const fixturesDir = path.join(repoRoot, 'fixtures');
export const latencyFile = path.join(repoRoot, 'latency.csv');
/**
 * The programs under test are the built ones in dist/, as `npm start` and an installed package run them
 * (a start without compiling TypeScript first: a third of the time). `npm test` builds them first.
 */
export const builtDir = path.join(repoRoot, 'dist');
export const trackerEntry = path.join(builtDir, 'tracker/cli.js');
export const peerEntry = path.join(builtDir, 'source/cli.js');

/** Lines a child writes, with waiting on a line that matches. */
export class LineLog {
	readonly lines: string[] = [];
	readonly #waiters: Array<{match: (line: string) => boolean; resolve: (line: string) => void}> = [];
	#from = 0;
	#ended = false;
	readonly #onEnd: Array<() => void> = [];

	constructor(stream: NodeJS.ReadableStream) {
		let buffer = '';
		stream.setEncoding('utf8');
		stream.on('data', (chunk: string) => {
			buffer += chunk;
			let newline: number;
			while ((newline = buffer.indexOf('\n')) !== -1) {
				this.#push(buffer.slice(0, newline));
				buffer = buffer.slice(newline + 1);
			}
		});
		stream.on('end', () => {
			if (buffer) {
				this.#push(buffer);
			}

			this.#ended = true;
			for (const listener of this.#onEnd) {
				listener();
			}
		});
	}

	/** Resolves with the first line (seen since the last consumed one) that matches; rejects after timeoutMs or at end of stream. */
	async next(match: RegExp | ((line: string) => boolean), timeoutMs = 60_000): Promise<string> {
		const test = typeof match === 'function' ? match : (line: string) => match.test(line);
		for (let index = this.#from; index < this.lines.length; index++) {
			if (test(this.lines[index]!)) {
				this.#from = index + 1;
				return this.lines[index]!;
			}
		}

		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				reject(new Error(`no line matching ${String(match)} within ${timeoutMs} ms; saw:\n${this.lines.slice(-20).join('\n')}`));
			}, timeoutMs);
			const waiter = {
				match: test,
				resolve(line: string) {
					clearTimeout(timer);
					resolve(line);
				},
			};
			this.#waiters.push(waiter);
			this.#onEnd.push(() => {
				clearTimeout(timer);
				reject(new Error(`stream ended before a line matching ${String(match)}; saw:\n${this.lines.slice(-20).join('\n')}`));
			});
			if (this.#ended) {
				this.#onEnd.at(-1)!();
			}
		});
	}

	#push(line: string): void {
		this.lines.push(line);
		const waiter = this.#waiters[0];
		if (waiter?.match(line)) {
			this.#waiters.shift();
			this.#from = this.lines.length;
			waiter.resolve(line);
		}
	}
}

export type Child = {
	child: ChildProcessWithoutNullStreams;
	stdout: LineLog;
	stderr: LineLog;
	exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>;
	kill: (signal?: NodeJS.Signals) => Promise<void>;
};

let builtChecked = false;

/** Throws (once a test file) unless dist/ is built and no source is newer than it: a test of a stale build tests other code. */
export function assertFreshBuild(): void {
	if (builtChecked) {
		return;
	}

	const builtAt = [trackerEntry, peerEntry].map(file => statSync(file, {throwIfNoEntry: false})?.mtimeMs ?? Number.NEGATIVE_INFINITY);
	if (builtAt.includes(Number.NEGATIVE_INFINITY)) {
		throw new Error('dist/ is missing: run `npm run build` first (`npm test` does)');
	}

	const oldest = Math.min(...builtAt);
	// What the build bundles: the sources, the fixtures the demo writes, the build script, and the installed packages (npm writes node_modules/.package-lock.json at each install).
	const inputs = ['build.ts', 'node_modules/.package-lock.json'];
	for (const dir of ['source', 'tracker', 'fixtures']) {
		inputs.push(...readdirSync(path.join(repoRoot, dir), {recursive: true, encoding: 'utf8'}).filter(file => /\.tsx?$/.test(file)).map(file => path.join(dir, file)));
	}

	for (const file of inputs) {
		if ((statSync(path.join(repoRoot, file), {throwIfNoEntry: false})?.mtimeMs ?? 0) > oldest) {
			throw new Error(`dist/ is older than ${file}: run \`npm run build\` first (\`npm test\` does)`);
		}
	}

	builtChecked = true;
}

/** The arguments that run an entry: a built program as it is, a TypeScript one through tsx. */
export function nodeArgs(entry: string): string[] {
	if (entry.startsWith(builtDir + path.sep)) {
		assertFreshBuild();
		return [entry];
	}

	return ['--import', 'tsx', entry];
}

/** Starts `node entry args` (a built program, or TypeScript through tsx); it is killed when the test ends. */
export function startChild(t: ExecutionContext, entry: string, args: string[], env: Record<string, string> = {}): Child {
	return adoptChild(t, spawn(process.execPath, [...nodeArgs(entry), ...args], {
		cwd: repoRoot,
		env: {...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env},
		stdio: 'pipe',
	}));
}

/** Wraps a spawned child: its output as line logs, its exit, a kill that waits; killed when the test ends. */
export function adoptChild(t: ExecutionContext, child: ChildProcessWithoutNullStreams): Child {
	const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>(resolve => {
		child.once('exit', (code, signal) => {
			resolve({code, signal});
		});
	});
	const handle: Child = {
		child,
		stdout: new LineLog(child.stdout),
		stderr: new LineLog(child.stderr),
		exited,
		async kill(signal = 'SIGKILL') {
			if (child.exitCode === null && child.signalCode === null) {
				child.kill(signal);
			}

			await exited;
		},
	};
	t.teardown(async () => handle.kill('SIGKILL'));
	return handle;
}

export type TrackerProcess = Child & {url: string; port: number};

export async function startTracker(t: ExecutionContext, args: string[] = []): Promise<TrackerProcess> {
	const port = args.includes('--port') ? [] : ['--port', '0'];
	// Tests that want the warm-up after a restart ask for it; the rest see a NOT_FOUND at once.
	const warmup = args.includes('--warmup-ms') ? [] : ['--warmup-ms', '0'];
	const child = startChild(t, trackerEntry, [...port, ...warmup, '--quiet', ...args]);
	const ready = await child.stdout.next(/^tracker listening on /);
	const url = ready.replace('tracker listening on ', '').trim();
	return {...child, url, port: Number(new URL(url).port)};
}

export type PeerOptions = {id: string; dir: string; tracker: string; args?: string[]; serve?: boolean; env?: Record<string, string>};
export type PeerProcess = Child & {
	id: string;
	url: string;
	/** Sends one command line and resolves with its JSON result. */
	run: (line: string, timeoutMs?: number) => Promise<Record<string, any>>;
	/** Closes stdin (end of script). */
	end: () => void;
};

export const fastPeerArgs = ['--latency-scale', '0.01', '--heartbeat-ms', '200', '--latency', latencyFile];

export async function startPeer(t: ExecutionContext, {id, dir, tracker, args = [], serve = false, env}: PeerOptions): Promise<PeerProcess> {
	const child = startChild(t, peerEntry, ['--id', id, '--dir', dir, '--tracker', tracker, '--json', ...fastPeerArgs, ...(serve ? ['--serve'] : []), ...args], env);
	const ready = JSON.parse(await child.stdout.next(line => line.includes('"event":"ready"'))) as {url: string};
	return {
		...child,
		id,
		url: ready.url,
		async run(line, timeoutMs = 60_000) {
			child.child.stdin.write(`${line}\n`);
			return JSON.parse(await child.stdout.next(candidate => candidate.startsWith('{"cmd"'), timeoutMs)) as Record<string, any>;
		},
		end() {
			child.child.stdin.end();
		},
	};
}

/** A private copy of a fixture share dir (or an empty dir), removed at teardown. */
export async function shareDir(t: ExecutionContext, fixture?: string): Promise<string> {
	const dir = await mkdtemp(path.join(tmpdir(), `xfs-${fixture ?? 'empty'}-`));
	if (fixture) {
		await cp(path.join(fixturesDir, fixture), dir, {recursive: true, filter: source => !source.includes(`${path.sep}.xfs`)});
	}

	t.teardown(async () => rm(dir, {recursive: true, force: true}));
	return dir;
}

/** Polls `check` until it returns a value other than undefined (for state reached asynchronously, e.g. a heartbeat). */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, {timeoutMs = 30_000, intervalMs = 50} = {}): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let lastError: unknown;
	for (;;) {
		try {
			const value = await check();
			if (value !== undefined) {
				return value;
			}
		} catch (error) {
			lastError = error;
		}

		if (Date.now() > deadline) {
			throw new Error(`condition not reached within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ''}`);
		}

		await new Promise(resolve => {
			setTimeout(resolve, intervalMs);
		});
	}
}

export async function getJson(url: string): Promise<{status: number; body: any}> {
	const response = await fetch(url);
	const text = await response.text();
	return {status: response.status, body: text ? JSON.parse(text) : undefined};
}
