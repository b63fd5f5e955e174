/**
 * The share dir publishes itself, measured with real processes (dist/): a `--serve` peer with
 * its defaults (--settle-ms 1000, --rescan-ms 60000, the watch on) and trackers beside it.
 *
 * 1. Drops: `--drops` files written one at a time into the share dir; for each, the ms from the
 *    write's end until Find at the tracker answers its md5, then from its unlink until Find
 *    answers 404. Target: p95 <= settle + 500 ms, and <= 500 ms for a removal. Reference: the
 *    round trip of one Find (the resolution of the measure), measured in the same loop.
 * 2. Burst: `--burst` files made in a staging folder, then copied in at once with `cp`; the ms
 *    from the copy's end until the tracker lists all of them, and the requests the peer sent to
 *    the tracker meanwhile, counted at the tracker (its debug log names every request).
 *    Targets: <= 5 s, <= 20 requests.
 * 3. Idle: the burst's peer (10 000 files watched, rescans on) over `--idle-ms`, its CPU from
 *    /proc/<pid>/stat; reference: a peer with the same number of files, --no-watch and
 *    --rescan-ms 0 (heartbeats only), over the same minute. Target: <= 1% of one core.
 * 4. Tracker CPU (/proc/<pid>/stat of a tracker process): `--patches` incremental updates of one
 *    added file each to a peer listing `--listed` files, against `--puts` whole-list UpdateLists
 *    (PUT /peers/:id) of 100 000 files, in the same run. Target: <= 5 ms per added file.
 *
 *   npm run bench:watch [-- --drops 50 --burst 10000 --idle-ms 60000 --patches 1000 --puts 5 --settle-ms 1000 --csv watch.csv]
 */
import {execFileSync} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {
	assertBuilt, benchFlags, benchTempDir, cpuMsOf, describeMachine, formatTable, median, repoRoot, saveCsv, startPeerProcess, startProcess,
	startTrackerProcess, stopAll, type Proc,
} from './lib.js';

const flags = benchFlags({
	drops: '50', burst: '10000', 'idle-ms': '60000', patches: '1000', puts: '5', listed: '100000', 'settle-ms': '1000', 'poll-ms': '10', csv: 'watch.csv',
});
const drops = Number(flags.drops);
const burst = Number(flags.burst);
const idleMs = Number(flags['idle-ms']);
const patches = Number(flags.patches);
const puts = Number(flags.puts);
const listed = Number(flags.listed);
const settleMs = Number(flags['settle-ms']);
const pollMs = Number(flags['poll-ms']);

const target = {dropMs: settleMs + 500, removeMs: 500, burstMs: 5000, burstRequests: 20, patchCpuMs: 5, idleShare: 0.01};
const peerArgs = ['--serve', '--settle-ms', String(settleMs)];
const trackerBin = path.join(repoRoot, 'dist', 'tracker', 'cli.js');

const md5Of = (bytes: string | Buffer) => createHash('md5').update(bytes).digest('hex');
const verdict = (met: boolean) => (met ? 'met' : 'MISSED');

function percentile(values: number[], share: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]!;
}

/** Calls `check` every `intervalMs` until it returns true; rejects after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, {intervalMs = pollMs, timeoutMs = 60_000} = {}): Promise<void> {
	const deadline = performance.now() + timeoutMs;
	while (!await check()) {
		if (performance.now() > deadline) {
			throw new Error(`${what}: not within ${timeoutMs} ms`);
		}

		await sleep(intervalMs);
	}
}

async function findMd5(tracker: string, name: string): Promise<string | undefined> {
	const response = await fetch(`${tracker}/files/${name}`);
	const body = await response.json() as {md5?: string};
	return response.status === 200 ? body.md5 : undefined;
}

/** Writes `count` small distinct files (`<prefix>-<n>.txt`) into `dir`. */
async function makeFiles(dir: string, prefix: string, count: number): Promise<void> {
	for (let start = 0; start < count; start += 200) {
		await Promise.all(Array.from({length: Math.min(200, count - start)}, async (_, offset) => {
			const index = start + offset;
			await fs.writeFile(path.join(dir, `${prefix}-${String(index).padStart(6, '0')}.txt`), `${prefix} file ${index}\n`.repeat(32));
		}));
	}
}

/** 1. Drops and removals, one file at a time. */
async function measureDrops(): Promise<{dropMs: number[]; removeMs: number[]; findRoundTripMs: number[]}> {
	const tracker = await startTrackerProcess(['--warmup-ms', '0']);
	const share = await benchTempDir('watch-drops');
	try {
		const peer = await startPeerProcess({id: 'drops', dir: share.dir, tracker: tracker.url, args: peerArgs});
		const dropMs: number[] = [];
		const removeMs: number[] = [];
		const findRoundTripMs: number[] = [];
		for (let drop = 0; drop < drops; drop++) {
			const name = `drop-${drop}.txt`;
			const content = `dropped file ${drop}, ${randomBytes(8).toString('hex')}\n`;
			await fs.writeFile(path.join(share.dir, name), content);
			const written = performance.now();
			await until(`${name} findable`, async () => {
				const asked = performance.now();
				const md5 = await findMd5(tracker.url, name);
				findRoundTripMs.push(performance.now() - asked);
				return md5 === md5Of(content);
			});
			dropMs.push(performance.now() - written);
			await fs.unlink(path.join(share.dir, name));
			const removed = performance.now();
			await until(`${name} gone`, async () => await findMd5(tracker.url, name) === undefined);
			removeMs.push(performance.now() - removed);
			console.log(`drop ${drop + 1}/${drops}: findable after ${dropMs.at(-1)!.toFixed(0)} ms, gone ${removeMs.at(-1)!.toFixed(0)} ms after its removal`);
		}

		await peer.stop();
		return {dropMs, removeMs, findRoundTripMs};
	} finally {
		await tracker.stop();
		await share.remove();
	}
}

/** A tracker whose debug log names each request; `requestsOf(id)` counts the ones about peer `id` so far, by method. */
async function startCountingTracker(): Promise<Proc & {url: string; requestsOf: (id: string) => Record<string, number>}> {
	const proc = startProcess(trackerBin, ['--port', '0', '--warmup-ms', '0', '--log-level', 'debug']);
	const url = (await proc.stdout.next(/^tracker listening on /, 60_000)).replace('tracker listening on ', '').trim();
	return {
		...proc,
		url,
		requestsOf(id) {
			const counts: Record<string, number> = {};
			for (const line of proc.stderr.lines) {
				try {
					const entry = JSON.parse(line) as {method?: string; url?: string};
					if (entry.method && entry.url?.startsWith(`/peers/${id}`)) {
						const kind = `${entry.method} ${entry.url.replace(`/peers/${id}`, '/peers/:id')}`;
						counts[kind] = (counts[kind] ?? 0) + 1;
					}
				} catch {}
			}

			return counts;
		},
	};
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((sum, count) => sum + count, 0);
const minus = (after: Record<string, number>, before: Record<string, number>) => Object.fromEntries(Object.entries(after).map(([kind, count]) => [kind, count - (before[kind] ?? 0)]).filter(([, count]) => count !== 0));
const describeCounts = (counts: Record<string, number>) => Object.entries(counts).map(([kind, count]) => `${count} ${kind}`).join(', ');

/** 2 and 3. The burst, then the same peer idle, beside a peer with the watch and the rescans off. */
async function measureBurstAndIdle(): Promise<{
	copyMs: number; allFindableMs: number; requests: Record<string, number>; tailRequests: Record<string, number>;
	idle: {watchedCpuMs: number; referenceCpuMs: number; wallMs: number};
}> {
	const tracker = await startCountingTracker();
	const referenceTracker = await startTrackerProcess(['--warmup-ms', '0']);
	const share = await benchTempDir('watch-burst');
	const staging = await benchTempDir('watch-staging');
	const reference = await benchTempDir('watch-reference');
	try {
		await makeFiles(staging.dir, 'burst', burst);
		await makeFiles(reference.dir, 'idle', burst);
		const referencePeer = await startPeerProcess({id: 'reference', dir: reference.dir, tracker: referenceTracker.url, args: [...peerArgs, '--no-watch', '--rescan-ms', '0']});
		const peer = await startPeerProcess({id: 'burst', dir: share.dir, tracker: tracker.url, args: peerArgs});
		// Past the boot's own requests and its first rescan.
		await sleep(2000);
		const countOf = async () => {
			const {files} = await (await fetch(`${tracker.url}/files`)).json() as {files: Array<{name: string}>};
			return files.filter(file => file.name.startsWith('burst-')).length;
		};

		const before = tracker.requestsOf('burst');
		const copyStarted = performance.now();
		execFileSync('sh', ['-c', `cp "${staging.dir}"/* "${share.dir}"/`]);
		const copied = performance.now();
		console.log(`copied ${burst} files in ${(copied - copyStarted).toFixed(0)} ms`);
		await until('every burst file listed', async () => await countOf() === burst, {intervalMs: 50, timeoutMs: 120_000});
		const allFindableMs = performance.now() - copied;
		// The log line of the last request may follow its reply by a moment.
		await sleep(200);
		const requests = minus(tracker.requestsOf('burst'), before);
		console.log(`all ${burst} findable ${allFindableMs.toFixed(0)} ms after the copy ended; requests meanwhile: ${describeCounts(requests)}`);
		const name = 'burst-000123.txt';
		const md5 = await findMd5(tracker.url, name);
		if (md5 !== md5Of(await fs.readFile(path.join(share.dir, name)))) {
			throw new Error(`${name}: the tracker lists md5 ${md5}, not the file's`);
		}

		// Quiet again (a publish waits at most 2 s), then the idle minute for both peers at once.
		await sleep(3000);
		const tailRequests = minus(minus(tracker.requestsOf('burst'), before), requests);
		const watchedBefore = cpuMsOf(peer.pid);
		const referenceBefore = cpuMsOf(referencePeer.pid);
		const idleStarted = performance.now();
		console.log(`idle: ${idleMs / 1000} s of both peers, ${burst} files each`);
		await sleep(idleMs);
		const idle = {watchedCpuMs: cpuMsOf(peer.pid) - watchedBefore, referenceCpuMs: cpuMsOf(referencePeer.pid) - referenceBefore, wallMs: performance.now() - idleStarted};
		await peer.stop();
		await referencePeer.stop();
		return {copyMs: copied - copyStarted, allFindableMs, requests, tailRequests, idle};
	} finally {
		await tracker.stop();
		await referenceTracker.stop();
		await Promise.all([share.remove(), staging.remove(), reference.remove()]);
	}
}

async function send(agent: http.Agent, method: 'PUT' | 'PATCH', url: URL, body: string): Promise<void> {
	const status = await new Promise<number>((resolve, reject) => {
		const request = http.request(url, {method, agent, headers: {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)}}, response => {
			response.resume();
			response.once('end', () => {
				resolve(response.statusCode ?? 0);
			});
		});
		request.once('error', reject);
		request.end(body);
	});
	if (status !== 200) {
		throw new Error(`${method} ${url.pathname} answered ${status}`);
	}
}

/** 4. The tracker's CPU for one added file (PATCH) against a whole list (PUT), in one tracker process. */
async function measureTrackerCpu(): Promise<{patchCpuMs: number; patchWallMs: number; putCpuMs: number; putWallMs: number; putBytes: number}> {
	// A long TTL: the listed peer sends no heartbeats of its own.
	const tracker = await startTrackerProcess(['--warmup-ms', '0', '--ttl-ms', String(60 * 60 * 1000)]);
	const agent = new http.Agent({keepAlive: true, maxSockets: 1});
	const entry = (name: string) => ({name, md5: md5Of(name), size: name.length * 100});
	const peerUrl = 'http://127.0.0.1:9';
	try {
		const wholeList = (count: number, version: number) => JSON.stringify({
			url: peerUrl, version, files: Array.from({length: count}, (_, index) => entry(`listed-${String(index).padStart(6, '0')}.bin`)),
		});
		const putUrl = new URL('/peers/whole', tracker.url);
		const putBody = wholeList(100_000, 1);
		// Warm-up (and the tracker's one probe of a new peer's URL), not counted.
		await send(agent, 'PUT', putUrl, putBody);
		await send(agent, 'PUT', putUrl, putBody);
		const putCpuBefore = cpuMsOf(tracker.pid);
		const putStarted = performance.now();
		for (let put = 0; put < puts; put++) {
			await send(agent, 'PUT', putUrl, putBody);
		}

		const putWallMs = (performance.now() - putStarted) / puts;
		const putCpuMs = (cpuMsOf(tracker.pid) - putCpuBefore) / puts;
		console.log(`whole list (PUT, 100 000 files, ${(putBody.length / 1e6).toFixed(1)} MB): ${putCpuMs.toFixed(0)} ms of tracker CPU, ${putWallMs.toFixed(0)} ms wall each`);

		const patchUrl = new URL('/peers/patched/files', tracker.url);
		// The peer lists `listed` files once the last update is in.
		await send(agent, 'PUT', new URL('/peers/patched', tracker.url), wholeList(listed - patches, 1));
		const patchOf = (index: number) => JSON.stringify({from: index + 1, to: index + 2, add: [entry(`added-${String(index).padStart(6, '0')}.bin`)], remove: []});
		// Warm-up updates (the JIT), not counted; each of them removes what it added.
		for (let index = 0; index < 100; index++) {
			await send(agent, 'PATCH', patchUrl, index % 2 === 0 ? patchOf(index) : JSON.stringify({from: index + 1, to: index + 2, remove: [`added-${String(index - 1).padStart(6, '0')}.bin`]}));
		}

		const patchCpuBefore = cpuMsOf(tracker.pid);
		const patchStarted = performance.now();
		for (let index = 100; index < 100 + patches; index++) {
			await send(agent, 'PATCH', patchUrl, patchOf(index));
		}

		const patchWallMs = (performance.now() - patchStarted) / patches;
		const patchCpuMs = (cpuMsOf(tracker.pid) - patchCpuBefore) / patches;
		const health = await (await fetch(`${tracker.url}/peers`)).json() as {peers: Array<{id: string; files: number}>};
		const patched = health.peers.find(peer => peer.id === 'patched')?.files;
		if (patched !== listed) {
			throw new Error(`the patched peer lists ${patched} files, expected ${listed}`);
		}

		console.log(`one added file (PATCH, peer listing ${listed - patches}→${listed}): ${patchCpuMs.toFixed(2)} ms of tracker CPU, ${patchWallMs.toFixed(2)} ms wall each (${patches} updates)`);
		return {patchCpuMs, patchWallMs, putCpuMs, putWallMs, putBytes: putBody.length};
	} finally {
		agent.destroy();
		await tracker.stop();
	}
}

async function main(): Promise<void> {
	assertBuilt();
	const machine = describeMachine();
	console.log(`machine: ${machine}`);
	try {
		const drop = await measureDrops();
		const dropP95 = percentile(drop.dropMs, 0.95);
		const removeP95 = percentile(drop.removeMs, 0.95);
		const burstResult = await measureBurstAndIdle();
		const cpu = await measureTrackerCpu();
		const requests = total(burstResult.requests);
		const {idle} = burstResult;
		const idleShare = idle.watchedCpuMs / idle.wallMs;
		const referenceShare = idle.referenceCpuMs / idle.wallMs;
		const ms = (value: number) => `${value.toFixed(0)} ms`;
		const rows: Array<[string, string, string, string, string]> = [
			[`drop -> findable, p95 of ${drops}`, ms(dropP95), `<= ${target.dropMs} ms (settle ${settleMs} + 500)`, verdict(dropP95 <= target.dropMs),
				`median ${ms(median(drop.dropMs))}, max ${ms(Math.max(...drop.dropMs))}; a Find round trip (the poll, every ${pollMs} ms): median ${drop.findRoundTripMs.length > 0 ? median(drop.findRoundTripMs).toFixed(1) : '-'} ms`],
			[`removal -> gone from Find, p95 of ${drops}`, ms(removeP95), `<= ${target.removeMs} ms`, verdict(removeP95 <= target.removeMs), `median ${ms(median(drop.removeMs))}, max ${ms(Math.max(...drop.removeMs))}`],
			[`${burst} files copied in: all findable after the copy ends`, ms(burstResult.allFindableMs), `<= ${target.burstMs} ms`, verdict(burstResult.allFindableMs <= target.burstMs), `the cp took ${ms(burstResult.copyMs)}`],
			[`${burst} files copied in: requests to the tracker`, String(requests), `<= ${target.burstRequests}`, verdict(requests <= target.burstRequests),
				`${describeCounts(burstResult.requests)} (counted at the tracker from the copy's start to all findable); in the 3 s after: ${describeCounts(burstResult.tailRequests) || 'none'}`],
			[`tracker CPU, one added file (${listed} listed)`, `${cpu.patchCpuMs.toFixed(2)} ms`, `<= ${target.patchCpuMs} ms`, verdict(cpu.patchCpuMs <= target.patchCpuMs),
				`mean of ${patches} PATCH /peers/:id/files, ${cpu.patchWallMs.toFixed(2)} ms wall each`],
			['tracker CPU, whole list of 100 000 files (reference)', ms(cpu.putCpuMs), '', '',
				`mean of ${puts} PUT /peers/:id of ${(cpu.putBytes / 1e6).toFixed(1)} MB, ${ms(cpu.putWallMs)} wall each; ${(cpu.putCpuMs / cpu.patchCpuMs).toFixed(0)}x one added file`],
			[`peer CPU idle, ${burst} files watched, rescans every 60 s`, `${(idleShare * 100).toFixed(2)}%`, `<= ${target.idleShare * 100}%`, verdict(idleShare <= target.idleShare),
				`${idle.watchedCpuMs} ms of CPU in ${(idle.wallMs / 1000).toFixed(1)} s`],
			[`peer CPU idle, ${burst} files, --no-watch --rescan-ms 0 (reference)`, `${(referenceShare * 100).toFixed(2)}%`, '', '', `${idle.referenceCpuMs} ms of CPU in the same ${(idle.wallMs / 1000).toFixed(1)} s`],
		];
		const header = ['measure', 'result', 'target', 'verdict', 'detail'];
		console.log(`\n${formatTable(header.slice(0, 4), rows.map(row => row.slice(0, 4)))}\n`);
		for (const row of rows) {
			console.log(`${row[0]}: ${row[4]}`);
		}

		const load = os.loadavg().map(value => value.toFixed(2)).join(' ');
		console.log(`saved ${await saveCsv(flags.csv!, header, rows, `${machine}; load average at the end ${load}`)}`);
	} finally {
		await stopAll();
	}
}

await main();
