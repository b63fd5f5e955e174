/**
 * The replication study (README "Replication"), with the shipped programs as real processes:
 *  1. repair time after kill -9 of 2 of the 3 holders of a pinned file, for 1 MiB and 64 MiB,
 *     against the bound ttl + 2 heartbeats + grace + one repair period + the transfer time of
 *     the same file measured in the same run (a plain download);
 *  2. a randomized fault run: peers, pinned files, rounds of kill -9 of up to 2 random peers,
 *     restarted a little later; files lost, the longest time below r, bytes moved per repair,
 *     and at rest no file with more than r copies plus its owner's.
 *
 *   npm run bench:replication              full run (10 trials a size; 12 peers, 50 files, 20 rounds)
 *   npm run bench:replication -- --quick   a short run (3 trials; 12 peers, 20 files, 6 rounds)
 *   options: --trials <n> (--large-trials <n> for 64 MiB) --rounds <n> --files <n>
 */
import {mkdir, rm} from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import {setTimeout as sleep} from 'node:timers/promises';
import {parseArgs} from 'node:util';
import {placementFor} from '../source/core/placement.js';
import {renderReplicationChart} from './replication-chart.js';
import {
	assertBuilt, benchTempDir, describeMachine, formatTable, median, MiB, KiB, type PeerProc, resultsDir, saveCsv, startPeerProcess, startTrackerProcess, stopAll, writeRandomFile,
} from './lib.js';

const {values: options} = parseArgs({options: {quick: {type: 'boolean', default: false}, trials: {type: 'string'}, 'large-trials': {type: 'string'}, rounds: {type: 'string'}, files: {type: 'string'}}});
const quick = options.quick!;
const settings = {
	trials: Number(options.trials ?? (quick ? 3 : 10)),
	largeTrials: Number(options['large-trials'] ?? options.trials ?? (quick ? 3 : 10)),
	sizes: [MiB, 64 * MiB],
	peers: 12,
	files: Number(options.files ?? (quick ? 20 : 50)),
	rounds: Number(options.rounds ?? (quick ? 6 : 20)),
	r: 3,
	ttlMs: 1000,
	heartbeatMs: 200,
	repairMs: 200,
	graceMs: 300,
};
const peerArgs = [
	'--latency-scale', '0.01', '--heartbeat-ms', String(settings.heartbeatMs), '--repair-ms', String(settings.repairMs),
	'--repair-grace-ms', String(settings.graceMs), '--handoff-ms', '2000', '--replicas', String(settings.r), '--settle-ms', '100',
];
const bound = (transferMs: number) => settings.ttlMs + (2 * settings.heartbeatMs) + settings.graceMs + settings.repairMs + transferMs;

type Cluster = {tracker: string; dirs: Map<string, string>; peers: Map<string, PeerProc>; all: PeerProc[]};

async function startPeer(cluster: Cluster, id: string): Promise<PeerProc> {
	const peer = await startPeerProcess({id, dir: cluster.dirs.get(id)!, tracker: cluster.tracker, args: peerArgs});
	cluster.peers.set(id, peer);
	cluster.all.push(peer);
	return peer;
}

async function kill(cluster: Cluster, id: string): Promise<void> {
	const peer = cluster.peers.get(id)!;
	const exited = new Promise(resolve => {
		peer.child.once('exit', resolve);
	});
	peer.child.kill('SIGKILL');
	await exited;
	cluster.peers.delete(id);
}

async function trackerJson(cluster: Cluster, route: string): Promise<any> {
	const response = await fetch(`${cluster.tracker}${route}`);
	return response.status === 200 ? response.json() : undefined;
}

async function copiesOf(cluster: Cluster, name: string): Promise<string[]> {
	return ((await trackerJson(cluster, `/files/${name}`))?.copies as string[] | undefined) ?? [];
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!await check()) {
		if (Date.now() > deadline) {
			throw new Error(`${what}: not within ${timeoutMs} ms`);
		}

		await sleep(20);
	}
}

async function makeCluster(prefix: string, ids: string[]): Promise<{cluster: Cluster; remove: () => Promise<void>; scratch: string}> {
	const temp = await benchTempDir(prefix);
	const tracker = await startTrackerProcess(['--ttl-ms', String(settings.ttlMs), '--warmup-ms', '0']);
	const cluster: Cluster = {tracker: tracker.url, dirs: new Map(), peers: new Map(), all: []};
	for (const id of ids) {
		const dir = path.join(temp.dir, id);
		await mkdir(dir);
		cluster.dirs.set(id, dir);
	}

	const scratch = path.join(temp.dir, 'scratch');
	await mkdir(scratch);
	return {cluster, remove: temp.remove, scratch};
}

/** Part 1: repair time after kill -9 of 2 of the 3 holders, against the bound. */
async function repairTimes(machine: string): Promise<Array<Array<string | number>>> {
	const ids = ['H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'owner'];
	const {cluster, remove, scratch} = await makeCluster('replication-repair', ids);
	const rows: Array<Array<string | number>> = [];
	try {
		for (const id of ids) {
			await startPeer(cluster, id);
		}

		const owner = cluster.peers.get('owner')!;
		for (const size of settings.sizes) {
			for (let trial = 1; trial <= (size > MiB ? settings.largeTrials : settings.trials); trial++) {
				const name = `f${size / MiB}m-${trial}.bin`;
				const source = path.join(scratch, name);
				await writeRandomFile(source, size);
				const put = await owner.run(`put ${source}`);
				if (!put.ok) {
					throw new Error(`put ${name}: ${JSON.stringify(put)}`);
				}

				// A put that answered before every copy was verified (a loaded machine) is waited out.
				await until(async () => (await copiesOf(cluster, name)).length === settings.r, 300_000, `${name} placed`);
				put.replicas = placementFor(name, [...cluster.peers.keys()], settings.r);

				await rm(source);
				// The reference: one plain download of the same file, by a peer outside its placement, timed in the same run.
				const live = [...cluster.peers.keys()];
				const placement = placementFor(name, live, settings.r);
				const outsider = live.find(id => id !== 'owner' && !placement.includes(id))!;
				const referenceStart = performance.now();
				const reference = await cluster.peers.get(outsider)!.run(`get ${name}`);
				const transferMs = performance.now() - referenceStart;
				if (!reference.ok) {
					throw new Error(`reference download of ${name}: ${JSON.stringify(reference)}`);
				}

				await rm(path.join(cluster.dirs.get(outsider)!, name));
				// Two of the three holders; the owner (the bench's command channel) is never one of them.
				const victims = (put.replicas as string[]).filter(id => id !== 'owner').slice(0, 2);
				const killedAt = performance.now();
				await Promise.all(victims.map(async id => kill(cluster, id)));
				await until(async () => {
					const copies = await copiesOf(cluster, name);
					return copies.length >= settings.r && !copies.some(id => victims.includes(id));
				}, 120_000, `repair of ${name}`);
				const repairMs = performance.now() - killedAt;
				rows.push([size, trial, Math.round(repairMs), Math.round(transferMs), Math.round(bound(transferMs)), repairMs <= bound(transferMs) ? 'yes' : 'no']);
				console.log(`${name}: repaired in ${Math.round(repairMs)} ms (transfer ${Math.round(transferMs)} ms, bound ${Math.round(bound(transferMs))} ms)`);
				// The victims come back with their copies; the extra ones are released before the next trial.
				await Promise.all(victims.map(async id => startPeer(cluster, id)));
				await until(async () => (await copiesOf(cluster, name)).length === settings.r, 120_000, `${name} back at rest`);
			}
		}
	} finally {
		await stopAll();
		await remove();
	}

	await saveCsv('replication-repair.csv', ['size_bytes', 'trial', 'repair_ms', 'transfer_ms', 'bound_ms', 'within_bound'], rows, machine);
	return rows;
}

type FaultSummary = {files: number; rounds: number; lost: number; longestBelowMs: number; copiesTaken: number; bytesTaken: number; bytesNeeded: number; overAtRest: number; fileBytes: number};

/** Part 2: the randomized fault run. */
async function faultRun(): Promise<FaultSummary> {
	const ids = Array.from({length: settings.peers}, (_, index) => `N${String(index).padStart(2, '0')}`);
	const {cluster, remove, scratch} = await makeCluster('replication-faults', ids);
	let seed = 20_261_201;
	const random = () => {
		seed = (seed * 48_271) % 2_147_483_647;
		return seed / 2_147_483_647;
	};

	const sizes = new Map<string, number>();
	const belowSince = new Map<string, number>();
	let longestBelowMs = 0;
	let sampling = true;
	let lost = 0;
	let bytesNeeded = 0;
	try {
		for (const id of ids) {
			await startPeer(cluster, id);
		}

		const owner = cluster.peers.get('N00')!;
		for (let index = 0; index < settings.files; index++) {
			const name = `p${String(index).padStart(2, '0')}.bin`;
			const size = Math.round((16 + (random() * 1008)) * KiB);
			sizes.set(name, size);
			await writeRandomFile(path.join(scratch, name), size);
			const put = await owner.run(`put ${path.join(scratch, name)}`);
			if (!put.ok || put.underReplicated) {
				throw new Error(`put ${name}: ${JSON.stringify(put)}`);
			}
		}

		const takenBefore = takenCopies(cluster).length;
		const sampler = (async () => {
			while (sampling) {
				const now = Date.now();
				const files = ((await trackerJson(cluster, '/files'))?.files ?? []) as Array<{name: string; copies?: number}>;
				const counts = new Map(files.map(file => [file.name, file.copies ?? 0]));
				for (const name of sizes.keys()) {
					const copies = counts.get(name) ?? 0;
					if (copies < settings.r) {
						belowSince.set(name, belowSince.get(name) ?? now);
						longestBelowMs = Math.max(longestBelowMs, now - belowSince.get(name)!);
					} else {
						belowSince.delete(name);
					}
				}

				await sleep(50);
			}
		})();

		for (let round = 1; round <= settings.rounds; round++) {
			const count = 1 + Math.floor(random() * 2);
			const live = [...cluster.peers.keys()];
			const victims: string[] = [];
			while (victims.length < count) {
				const pick = live[Math.floor(random() * live.length)]!;
				if (!victims.includes(pick)) {
					victims.push(pick);
				}
			}

			// What a perfect repair must move: for each file, the copies it lost below r, once each.
			for (const [name, size] of sizes) {
				const copies = await copiesOf(cluster, name);
				const left = copies.filter(id => !victims.includes(id)).length;
				bytesNeeded += Math.max(0, settings.r - left) * size;
			}

			const started = performance.now();
			await Promise.all(victims.map(async id => kill(cluster, id)));
			// Down long enough for the tracker to drop them (ttl) and the repair to start.
			await sleep(settings.ttlMs + 1500);
			await Promise.all(victims.map(async id => startPeer(cluster, id)));
			await until(async () => {
				const files = ((await trackerJson(cluster, '/files'))?.files ?? []) as Array<{name: string; copies?: number}>;
				return files.filter(file => sizes.has(file.name) && file.copies === settings.r).length === sizes.size;
			}, 300_000, `round ${round} settling`);
			console.log(`round ${round}: killed ${victims.join(', ')}; settled in ${Math.round(performance.now() - started)} ms`);
		}

		sampling = false;
		await sampler;
		let overAtRest = 0;
		for (const name of sizes.keys()) {
			const found = await trackerJson(cluster, `/files/${name}`);
			const holders = (found?.peers as Array<{id: string}> | undefined)?.map(peer => peer.id) ?? [];
			const copies = (found?.copies as string[] | undefined) ?? [];
			if (copies.length === 0) {
				lost++;
			}

			// R copies plus the owner's own file.
			if (holders.filter(id => id !== 'N00').length > settings.r || copies.length > settings.r) {
				overAtRest++;
			}
		}

		const taken = takenCopies(cluster).slice(takenBefore);
		return {
			files: sizes.size,
			rounds: settings.rounds,
			lost,
			longestBelowMs,
			copiesTaken: taken.length,
			bytesTaken: taken.reduce((sum, copy) => sum + copy.bytes, 0),
			bytesNeeded,
			overAtRest,
			fileBytes: [...sizes.values()].reduce((sum, size) => sum + size, 0),
		};
	} finally {
		sampling = false;
		await stopAll();
		await remove();
	}
}

/** Every copy the peers took, from their notices ("took a copy of NAME (N bytes ..."), in order. */
function takenCopies(cluster: Cluster): Array<{name: string; bytes: number}> {
	const taken: Array<{name: string; bytes: number}> = [];
	for (const peer of cluster.all) {
		for (const line of peer.stderr.lines) {
			const match = /took a copy of (\S+) \((\d+) bytes/.exec(line);
			if (match) {
				taken.push({name: match[1]!, bytes: Number(match[2])});
			}
		}
	}

	return taken;
}

async function main(): Promise<void> {
	assertBuilt();
	const machine = describeMachine();
	console.log(`replication study (${quick ? 'quick' : 'full'}): ${machine}`);
	const repairs = await repairTimes(machine);
	const bySize = settings.sizes.map(size => {
		const rows = repairs.filter(row => row[0] === size);
		const times = rows.map(row => Number(row[2]));
		return [
			`${size / MiB} MiB`, rows.length, median(times), Math.min(...times), Math.max(...times), median(rows.map(row => Number(row[3]))),
			median(rows.map(row => Number(row[4]))), rows.filter(row => row[5] === 'yes').length,
		];
	});
	const header = ['size', 'trials', 'median repair ms', 'min', 'max', 'median transfer ms', 'median bound ms', 'within bound'];
	console.log(formatTable(header, bySize));
	await saveCsv('replication-repair-summary.csv', header.map(column => column.replaceAll(' ', '_')), bySize, machine);

	const faults = await faultRun();
	const faultRow = [
		settings.peers, faults.files, faults.rounds, faults.lost, faults.longestBelowMs, faults.copiesTaken, faults.bytesTaken, faults.bytesNeeded,
		faults.bytesNeeded > 0 ? Number((faults.bytesTaken / faults.bytesNeeded).toFixed(2)) : 0, faults.overAtRest, faults.fileBytes,
	];
	const faultHeader = ['peers', 'files', 'rounds', 'files_lost', 'longest_below_r_ms', 'copies_taken', 'bytes_taken', 'bytes_needed', 'taken_per_needed', 'files_over_r_at_rest', 'file_bytes'];
	console.log(formatTable(faultHeader, [faultRow]));
	await saveCsv('replication-faults.csv', faultHeader, [faultRow], machine);
	console.log(`results in ${resultsDir}; chart: ${(await renderReplicationChart(resultsDir)).join(', ')}`);
}

try {
	await main();
} catch (error) {
	await stopAll();
	console.error(error);
	process.exitCode = 1;
}
