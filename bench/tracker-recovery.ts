/**
 * How long the tracker takes to be whole again after a kill -9 and a restart on the
 * same port, with the peers at their default heartbeat. Real processes: a tracker and
 * the fixture peers A–E.
 *
 *   npx tsx bench/tracker-recovery.ts [--runs 3] [--outages 0,12000] [--heartbeat-ms 5000]
 */
import {type ChildProcessWithoutNullStreams, spawn} from 'node:child_process';
import {cp, mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const {values} = parseArgs({options: {
	runs: {type: 'string', default: '3'},
	outages: {type: 'string', default: '0,12000'},
	'heartbeat-ms': {type: 'string', default: '5000'},
}});
const runs = Number(values.runs);
const outages = values.outages.split(',').map(Number);
const heartbeatMs = values['heartbeat-ms'];

const children = new Set<ChildProcessWithoutNullStreams>();

function start(entry: string, args: string[]): ChildProcessWithoutNullStreams {
	const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, entry), ...args], {cwd: root, stdio: 'pipe'});
	child.stderr.resume();
	children.add(child);
	child.once('exit', () => children.delete(child));
	return child;
}

async function firstLine(child: ChildProcessWithoutNullStreams, match: RegExp): Promise<string> {
	return new Promise((resolve, reject) => {
		let buffer = '';
		const onData = (chunk: Buffer) => {
			buffer += chunk.toString('utf8');
			const line = buffer.split('\n').find(candidate => match.test(candidate));
			if (line) {
				child.stdout.off('data', onData);
				resolve(line);
			}
		};

		child.stdout.on('data', onData);
		child.once('exit', () => {
			reject(new Error(`exited before printing ${String(match)}`));
		});
	});
}

async function json(url: string): Promise<any> {
	const response = await fetch(url);
	return response.status === 404 ? undefined : response.json();
}

/** Every answer of the tracker about the network, minus timing. */
async function view(trackerUrl: string): Promise<string> {
	const files = (await json(`${trackerUrl}/files`)).files as Array<{name: string}>;
	const finds = await Promise.all(files.map(async file => json(`${trackerUrl}/files/${file.name}`)));
	const peers = ((await json(`${trackerUrl}/peers`)).peers as Array<{id: string; url: string; files: number}>).map(({id, url, files}) => ({id, url, files}));
	return JSON.stringify({files, finds, peers});
}

async function waitUntilWhole(trackerUrl: string, whole: string): Promise<void> {
	for (;;) {
		try {
			if (await view(trackerUrl) === whole) {
				return;
			}
		} catch {}

		await sleep(20);
	}
}

async function startTracker(port: number): Promise<{child: ChildProcessWithoutNullStreams; url: string; readyAt: number}> {
	const child = start('tracker/cli.ts', ['--port', String(port), '--quiet']);
	const line = await firstLine(child, /^tracker listening on /);
	return {child, url: line.replace('tracker listening on ', '').trim(), readyAt: Date.now()};
}

async function main(): Promise<void> {
	const dirs: string[] = [];
	try {
		let tracker = await startTracker(0);
		const port = Number(new URL(tracker.url).port);
		await Promise.all(['A', 'B', 'C', 'D', 'E'].map(async id => {
			const dir = await mkdtemp(path.join(tmpdir(), `xfs-bench-${id}-`));
			dirs.push(dir);
			await cp(path.join(root, 'fixtures', id), dir, {recursive: true});
			const peer = start('source/cli.tsx', [
				'--id', id, '--dir', dir, '--tracker', tracker.url, '--serve', '--json',
				'--latency', path.join(root, 'latency.csv'), '--latency-scale', '0.01', '--heartbeat-ms', heartbeatMs,
			]);
			await firstLine(peer, /"event":"ready"/);
		}));
		const whole = await view(tracker.url);
		const {peers, files} = JSON.parse(whole) as {peers: unknown[]; files: unknown[]};
		process.stdout.write(`${peers.length} peers, ${files.length} files, --heartbeat-ms ${heartbeatMs}\n\n`);
		process.stdout.write('| outage (kill -9 to restart) | restart to ready (ms) | ready to whole (ms) | kill to whole (ms) |\n|---|---|---|---|\n');
		for (const outageMs of outages) {
			for (let run = 0; run < runs; run++) {
				const killedAt = Date.now();
				tracker.child.kill('SIGKILL');
				await new Promise(resolve => {
					tracker.child.once('exit', resolve);
				});
				await sleep(outageMs);
				const restartAt = Date.now();
				tracker = await startTracker(port);
				await waitUntilWhole(tracker.url, whole);
				const wholeAt = Date.now();
				process.stdout.write(`| ${outageMs} ms | ${tracker.readyAt - restartAt} | ${wholeAt - tracker.readyAt} | ${wholeAt - killedAt} |\n`);
			}
		}
	} finally {
		for (const child of children) {
			child.kill('SIGKILL');
		}

		await Promise.all(dirs.map(async dir => rm(dir, {recursive: true, force: true})));
	}
}

await main();
