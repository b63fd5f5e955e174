/**
 * `npm start` to the demo's prompt in a real terminal: each run opens a tmux session running
 * the command and polls the screen until the prompt line (`›`) shows under a connected status
 * line, then types `exit` and waits for the demo to stop everything before the next run.
 *
 * References measured in the same run, the same way: `node -e` printing the prompt character
 * (Node's own start here, NODE_EXTRA_CA_CERTS included), and `npm exec -c` echoing it (npm's
 * own start, which every `npm start` pays). With `--before <git revision>`, `npm start` of that
 * revision runs too, from a copy of it beside this one's node_modules, the cases alternating.
 * One warm-up run of each case is not counted.
 *
 *   npm run bench:start [-- --runs 7 --before <rev> --csv start.csv]
 */
import {execFileSync} from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import {setTimeout as sleep} from 'node:timers/promises';
import {benchFlags, benchTempDir, describeMachine, formatTable, median, repoRoot, saveCsv} from './lib.js';

const flags = benchFlags({runs: '7', before: '', csv: 'start.csv', 'timeout-ms': '60000'});
const runs = Number(flags.runs);
const timeoutMs = Number(flags['timeout-ms']);
const socket = `xfs-bench-start-${process.pid}`;
const done = '__bench_start_done__';

type Case = {name: string; cwd: string; command: string; ready: (screen: string) => boolean; demo: boolean};

const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], {encoding: 'utf8'});
const screenOf = (session: string) => tmux('capture-pane', '-p', '-t', session);
const demoReady = (screen: string) => screen.includes('tracker connected') && /^›\s*$/m.test(screen);

async function waitFor(session: string, ready: (screen: string) => boolean, what: string): Promise<void> {
	const deadline = performance.now() + timeoutMs;
	while (!ready(screenOf(session))) {
		if (performance.now() > deadline) {
			throw new Error(`${what}: not seen within ${timeoutMs} ms; the screen shows:\n${screenOf(session)}`);
		}

		await sleep(10);
	}
}

/** One run: ms from opening the session to the prompt on screen. */
async function runOnce(entry: Case, index: number): Promise<number> {
	const session = `run${index}`;
	// As the e2e test runs it: outside CI mode (Ink renders differently there), without colours.
	const command = `cd '${entry.cwd}' && env -u CI -u CONTINUOUS_INTEGRATION NO_COLOR=1 ${entry.command}; echo ${done}; sleep 600`;
	const started = performance.now();
	tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '40', command);
	await waitFor(session, entry.ready, `${entry.name}: the prompt`);
	const ms = performance.now() - started;
	if (entry.demo) {
		tmux('send-keys', '-t', session, '-l', 'exit');
		tmux('send-keys', '-t', session, 'Enter');
	}

	await waitFor(session, screen => screen.includes(done), `${entry.name}: the end`);
	tmux('kill-session', '-t', session);
	return ms;
}

/** A copy of `revision` whose npm start runs with this checkout's node_modules. */
async function checkoutOf(revision: string, into: string): Promise<string> {
	const dir = path.join(into, 'before');
	await fs.mkdir(dir);
	execFileSync('sh', ['-c', `git -C '${repoRoot}' archive '${revision}' | tar -x -C '${dir}'`]);
	await fs.symlink(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
	return dir;
}

async function main(): Promise<void> {
	const machine = `${describeMachine()}; NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS ? 'set' : 'not set'}`;
	console.log(`machine: ${machine}`);
	const temp = await benchTempDir('start');
	// One session keeps the tmux server up, so each run's session starts on a running server.
	tmux('new-session', '-d', '-s', 'keep', 'sleep 3600');
	try {
		const cases: Case[] = [
			{name: 'node -e (reference)', cwd: repoRoot, command: 'node -e "console.log(\'›\')"', ready: screen => /^›$/m.test(screen), demo: false},
			{name: 'npm exec -c (reference)', cwd: repoRoot, command: 'npm exec -c "echo ›"', ready: screen => /^›$/m.test(screen), demo: false},
		];
		if (flags.before) {
			const revision = execFileSync('git', ['-C', repoRoot, 'rev-parse', '--short', flags.before], {encoding: 'utf8'}).trim();
			cases.push({name: `npm start at ${revision} (before)`, cwd: await checkoutOf(revision, temp.dir), command: 'npm start', ready: demoReady, demo: true});
		}

		cases.push({name: 'npm start', cwd: repoRoot, command: 'npm start', ready: demoReady, demo: true});
		let index = 0;
		for (const entry of cases) {
			const ms = await runOnce(entry, index++);
			console.log(`warm-up, ${entry.name}: ${ms.toFixed(0)} ms`);
		}

		const times = new Map(cases.map(entry => [entry.name, [] as number[]]));
		for (let run = 1; run <= runs; run++) {
			// The order turns each run, so no case always follows the same one.
			for (const entry of [...cases.slice(run % cases.length), ...cases.slice(0, run % cases.length)]) {
				const ms = await runOnce(entry, index++);
				times.get(entry.name)!.push(ms);
				console.log(`run ${run}, ${entry.name}: ${ms.toFixed(0)} ms`);
			}
		}

		const rows = cases.map(entry => {
			const values = times.get(entry.name)!;
			return [entry.name, values.length, Math.round(median(values)), Math.round(Math.min(...values)), Math.round(Math.max(...values)), values.map(value => Math.round(value)).join(' ')];
		});
		const header = ['case', 'runs', 'median_ms', 'min_ms', 'max_ms', 'all_ms'];
		console.log(`\n${formatTable(header, rows)}`);
		console.log(`saved ${await saveCsv(flags.csv!, header, rows, machine)}`);
	} finally {
		try {
			tmux('kill-server');
		} catch {}

		await temp.remove();
	}
}

await main();
