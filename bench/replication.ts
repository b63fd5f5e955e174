/**
 * The replication study (README "Replication"), with the shipped programs as real processes:
 *  1. repair time after kill -9 of 2 of the 3 holders of a pinned file, for 1 MiB and 64 MiB, the
 *     peers at --upload-limit 8 MiB/s, against the bound ttl + 2 heartbeats + grace + one repair
 *     period + what must come from the survivor, from one copy of a file of that size fetched
 *     from the survivor alone in the same run (a get); and how much the survivor sent;
 *  2. a randomized fault run: peers, pinned files, rounds of kill -9 of up to 2 random peers,
 *     restarted a little later; files lost, the longest time below r, the bytes moved (as the
 *     senders count them) against the need, broken down by where they went, and at rest no file
 *     with more than r copies plus its owner's.
 *   XFS_BENCH_LOG=<prefix>: every peer's notices saved to <prefix>-repair.txt and <prefix>-faults.txt.
 *
 *   npm run bench:replication              full run (10 trials a size; 12 peers, 50 files, 20 rounds)
 *   npm run bench:replication -- --quick   a short run (3 trials; 12 peers, 20 files, 6 rounds)
 *   options: --trials <n> (--large-trials <n> for 64 MiB) --rounds <n> --files <n> --sizes <MiB,...>
 *            --upload-limit <MiB/s> --no-repair --no-faults
 */
import {mkdir, rename, rm, writeFile} from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import {setTimeout as sleep} from 'node:timers/promises';
import {parseArgs} from 'node:util';
import {defaultPartSize as partSize} from '../source/core/part-geometry.js';
import {placementFor} from '../source/core/placement.js';
import {renderReplicationChart} from './replication-chart.js';
import {
	assertBuilt, benchTempDir, describeMachine, formatTable, median, MiB, KiB, type PeerProc, resultsDir, saveCsv, startPeerProcess, startTrackerProcess, stopAll, writeRandomFile,
} from './lib.js';

const {values: options} = parseArgs({options: {
	quick: {type: 'boolean', default: false}, trials: {type: 'string'}, 'large-trials': {type: 'string'}, rounds: {type: 'string'}, files: {type: 'string'},
	sizes: {type: 'string'}, 'upload-limit': {type: 'string'}, 'no-repair': {type: 'boolean', default: false}, 'no-faults': {type: 'boolean', default: false},
}});
const quick = options.quick!;
const settings = {
	trials: Number(options.trials ?? (quick ? 3 : 10)),
	largeTrials: Number(options['large-trials'] ?? options.trials ?? (quick ? 3 : 10)),
	sizes: (options.sizes ?? '1,64').split(',').map(size => Number(size) * MiB),
	peers: 12,
	files: Number(options.files ?? (quick ? 20 : 50)),
	rounds: Number(options.rounds ?? (quick ? 6 : 20)),
	r: 3,
	ttlMs: 1000,
	heartbeatMs: 200,
	repairMs: 200,
	graceMs: 300,
	/** --upload-limit of the peers in the repair trials: the survivors' upload rate, which the bound's transfer time is about. */
	uploadLimit: Number(options['upload-limit'] ?? 8) * MiB,
};
const peerArgs = [
	'--latency-scale', '0.01', '--heartbeat-ms', String(settings.heartbeatMs), '--repair-ms', String(settings.repairMs),
	'--repair-grace-ms', String(settings.graceMs), '--handoff-ms', '2000', '--replicas', String(settings.r), '--settle-ms', '100',
];
/**
 * The bound of a repair of `copies` copies from one survivor: ttl + 2 heartbeats + grace + one repair period, then what must come
 * from the survivor at its upload rate: `oneCopyMs` (one whole copy from it, measured) once for a file larger than a part, as the
 * new holders form a chain (each further one a part behind the one before), or once a copy for a file of one part.
 */
const bound = (size: number, oneCopyMs: number, copies: number) => settings.ttlMs + (2 * settings.heartbeatMs) + settings.graceMs + settings.repairMs
	+ (size > partSize ? oneCopyMs * (1 + ((copies - 1) * partSize / size)) : copies * oneCopyMs);

type Cluster = {tracker: string; dirs: Map<string, string>; peers: Map<string, PeerProc>; all: PeerProc[]};

async function startPeer(cluster: Cluster, id: string, extra: string[] = []): Promise<PeerProc> {
	const peer = await startPeerProcess({id, dir: cluster.dirs.get(id)!, tracker: cluster.tracker, args: [...peerArgs, ...extra]});
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
			await startPeer(cluster, id, ['--upload-limit', String(settings.uploadLimit)]);
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
				// Exactly 3 holders: the owner's own file goes when placement did not pick it (else the owner is one of the 3).
				if (!(put.replicas as string[]).includes('owner')) {
					await rm(path.join(cluster.dirs.get('owner')!, name));
					await until(async () => !(await holdersOf(cluster, name)).includes('owner'), 60_000, `${name} unlisted at the owner`);
				}

				// Two of the three holders; the owner (the bench's command channel) is never one of them.
				const victims = (put.replicas as string[]).filter(id => id !== 'owner').slice(0, 2);
				const survivor = (put.replicas as string[]).find(id => !victims.includes(id))!;
				// The reference, timed in the same run: one copy of a file of that size from the survivor alone, at its upload rate (a plain get of
				// a twin file only it holds, by a peer outside the placement: Find, GetLoad, parts list, transfer, verification, as a copy does).
				const transferMs = await oneCopyFrom(cluster, {holder: survivor, name: `ref-${name}`, size, scratch, not: [...victims, 'owner']});
				const survivors = [...cluster.peers.keys()].filter(id => !victims.includes(id));
				const sentBefore = await uploadedBy(cluster, survivors);
				const marks = new Map(cluster.all.map(peer => [peer, peer.stderr.lines.length]));
				const killedAt = performance.now();
				await Promise.all(victims.map(async id => kill(cluster, id)));
				await until(async () => {
					const copies = await copiesOf(cluster, name);
					return copies.length >= settings.r && !copies.some(id => victims.includes(id));
				}, 120_000, `repair of ${name}`);
				const repairMs = performance.now() - killedAt;
				const sentAfter = await uploadedBy(cluster, survivors);
				const sent = survivors.map(id => `${id} ${((sentAfter.get(id)! - sentBefore.get(id)!) / size).toFixed(2)}`).filter(text => !text.endsWith(' 0.00'));
				const survivorSent = (sentAfter.get(survivor)! - sentBefore.get(survivor)!) / size;
				const taken = takenCopies(cluster, marks).filter(copy => copy.name === name);
				const limit = bound(size, transferMs, victims.length);
				rows.push([size, trial, Math.round(repairMs), Math.round(transferMs), Math.round(limit), repairMs <= limit ? 'yes' : 'no', survivorSent.toFixed(2)]);
				console.log(`${name}: repaired in ${Math.round(repairMs)} ms (one copy from the survivor ${Math.round(transferMs)} ms, bound ${Math.round(limit)} ms); survivor ${survivor} sent ${survivorSent.toFixed(2)}x the file (all: ${sent.join(', ')}); new copies: ${taken.map(copy => `${copy.peer} ${copy.ms} ms${copy.via ? ` via ${copy.via}` : ''}, ${(copy.fromPartial / size).toFixed(2)} from partial`).join('; ')}`);
				// The victims come back with their copies; the extra ones are released before the next trial.
				await Promise.all(victims.map(async id => startPeer(cluster, id, ['--upload-limit', String(settings.uploadLimit)])));
				await until(async () => (await copiesOf(cluster, name)).length === settings.r, 120_000, `${name} back at rest`);
				// Done with this file: unpinned and removed everywhere, so a later trial's kills repair only its own file.
				const unpinned = await owner.run(`unpin ${name}`);
				if (!unpinned.ok) {
					throw new Error(`unpin ${name}: ${JSON.stringify(unpinned)}`);
				}

				await until(async () => (await trackerJson(cluster, `/files/${name}`))?.pinned === undefined, 60_000, `${name} unpinned`);
				await Promise.all([...cluster.dirs.values()].map(async dir => rm(path.join(dir, name), {force: true})));
			}
		}
	} finally {
		await stopAll();
		await dumpLogs(cluster, 'repair');
		await remove();
	}

	await saveCsv('replication-repair.csv', ['size_bytes', 'trial', 'repair_ms', 'transfer_ms', 'bound_ms', 'within_bound', 'survivor_sent_per_file'], rows, machine);
	return rows;
}

type FaultSummary = {files: number; rounds: number; lost: number; longestBelowMs: number; bytesNeeded: number; overAtRest: number; fileBytes: number} & Account;

/**
 * Where the bytes of a round went, by the copies the peers completed (their notices) against the
 * copies each file lost: copies within the need (some released again once a killed holder came back
 * with its own), copies beyond it (the same peer twice, a peer that held the file before, another
 * peer), and (for the whole run) everything the senders sent that no completed copy received: fetches
 * cut short by a kill or that failed.
 */
type Account = {
	moved: number; copies: number; neededCopies: number; neededBytes: number; returnedCopies: number; returnedBytes: number;
	twiceCopies: number; twiceBytes: number; heldCopies: number; heldBytes: number; beyondCopies: number; beyondBytes: number;
	reused: number; fromPartial: number; failed: number;
};

function emptyAccount(): Account {
	return {
		moved: 0, copies: 0, neededCopies: 0, neededBytes: 0, returnedCopies: 0, returnedBytes: 0, twiceCopies: 0, twiceBytes: 0, heldCopies: 0, heldBytes: 0,
		beyondCopies: 0, beyondBytes: 0, reused: 0, fromPartial: 0, failed: 0,
	};
}

function accountRound(cluster: Cluster, marks: Map<PeerProc, number>, lostOf: Map<string, number>, heldBefore: Map<string, string[]>): Account {
	const account = emptyAccount();
	const taken = takenCopies(cluster, marks);
	const released = new Set<string>();
	for (const peer of cluster.all) {
		for (const line of peer.stderr.lines.slice(marks.get(peer) ?? 0)) {
			const match = /^peer (\S+): replication: released the copy of (\S+) /.exec(line);
			if (match) {
				released.add(`${match[1]}\0${match[2]}`);
			}

			if (line.includes('replication: could not take a copy of ')) {
				account.failed++;
			}
		}
	}

	for (const [name, lost] of lostOf) {
		const copies = taken.filter(copy => copy.name === name);
		// The copies kept count first against the need.
		copies.sort((a, b) => Number(released.has(`${a.peer}\0${a.name}`)) - Number(released.has(`${b.peer}\0${b.name}`)));
		const seen = new Set<string>();
		for (const [index, copy] of copies.entries()) {
			account.copies++;
			account.reused += copy.reused;
			account.fromPartial += copy.fromPartial;
			const twice = seen.has(copy.peer);
			seen.add(copy.peer);
			if (index < lost && !twice) {
				account.neededCopies++;
				account.neededBytes += copy.received;
				if (released.has(`${copy.peer}\0${copy.name}`)) {
					account.returnedCopies++;
					account.returnedBytes += copy.received;
				}
			} else if (twice) {
				account.twiceCopies++;
				account.twiceBytes += copy.received;
			} else if (heldBefore.get(name)?.includes(copy.peer)) {
				account.heldCopies++;
				account.heldBytes += copy.received;
			} else {
				account.beyondCopies++;
				account.beyondBytes += copy.received;
			}
		}
	}

	return account;
}

function describeRound(account: Account): string {
	const mb = (value: number) => `${(value / 1e6).toFixed(1)} MB`;
	const parts = [`${account.neededCopies} copies needed (${mb(account.neededBytes)}; ${account.returnedCopies} released as a killed holder came back)`];
	if (account.twiceCopies + account.heldCopies + account.beyondCopies > 0) {
		parts.push(`beyond the need: ${account.twiceCopies} taken twice by one peer, ${account.heldCopies} by a peer that held it, ${account.beyondCopies} by others (${mb(account.twiceBytes + account.heldBytes + account.beyondBytes)})`);
	}

	if (account.failed > 0) {
		parts.push(`${account.failed} fetches failed`);
	}

	return parts.join('; ');
}

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
	const bytes = emptyAccount();
	const roundMarks: Array<Map<PeerProc, number>> = [];
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

		// Every byte a peer sends in a file upload is counted by it (GET /load): read before each kill and at the end.
		const uploaded = new Map<PeerProc, number>();
		const readUploaded = async (ids: readonly string[]) => {
			for (const [id, bytes] of await uploadedBy(cluster, ids)) {
				uploaded.set(cluster.peers.get(id)!, bytes);
			}
		};

		await readUploaded([...cluster.peers.keys()]);
		const sentBefore = [...uploaded.values()].reduce((sum, bytes) => sum + bytes, 0);
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
			const heldBefore = new Map<string, string[]>();
			const lostOf = new Map<string, number>();
			for (const [name, size] of sizes) {
				const copies = await copiesOf(cluster, name);
				heldBefore.set(name, copies);
				const left = copies.filter(id => !victims.includes(id)).length;
				lostOf.set(name, Math.max(0, settings.r - left));
				bytesNeeded += Math.max(0, settings.r - left) * size;
			}

			const marks = new Map(cluster.all.map(peer => [peer, peer.stderr.lines.length]));
			roundMarks.push(marks);
			const started = performance.now();
			await readUploaded(victims);
			await Promise.all(victims.map(async id => kill(cluster, id)));
			// Down long enough for the tracker to drop them (ttl) and the repair to start.
			await sleep(settings.ttlMs + 1500);
			await Promise.all(victims.map(async id => startPeer(cluster, id)));
			await until(async () => {
				const files = ((await trackerJson(cluster, '/files'))?.files ?? []) as Array<{name: string; copies?: number}>;
				return files.filter(file => sizes.has(file.name) && file.copies === settings.r).length === sizes.size;
			}, 300_000, `round ${round} settling`);
			const round_ = accountRound(cluster, marks, lostOf, heldBefore);
			for (const [key, value] of Object.entries(round_)) {
				bytes[key as keyof typeof bytes] += value;
			}

			console.log(`round ${round}: killed ${victims.join(', ')}; settled in ${Math.round(performance.now() - started)} ms; ${describeRound(round_)}`);
		}

		await readUploaded([...cluster.peers.keys()]);
		bytes.moved = [...uploaded.values()].reduce((sum, sent) => sum + sent, 0) - sentBefore;

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

		return {
			files: sizes.size,
			rounds: settings.rounds,
			lost,
			longestBelowMs,
			bytesNeeded,
			overAtRest,
			fileBytes: [...sizes.values()].reduce((sum, size) => sum + size, 0),
			...bytes,
		};
	} finally {
		sampling = false;
		await stopAll();
		await dumpLogs(cluster, 'faults', roundMarks);
		await remove();
	}
}

/** XFS_BENCH_LOG=<file prefix>: every peer process's stderr (its notices), in start order, each line after the round it came in, for a look at what the repairs did. */
async function dumpLogs(cluster: Cluster, what: string, rounds: ReadonlyArray<Map<PeerProc, number>> = []): Promise<void> {
	const prefix = process.env.XFS_BENCH_LOG;
	// A process missing from a round's marks started after that round began.
	const roundOf = (peer: PeerProc, index: number) => rounds.filter(marks => !marks.has(peer) || marks.get(peer)! <= index).length;
	if (prefix) {
		await writeFile(`${prefix}-${what}.txt`, cluster.all.map((peer, process) => `== process ${process}\n${peer.stderr.lines.map((line, index) => `[${roundOf(peer, index)}] ${line}`).join('\n')}\n`).join(''));
	}
}

type Taken = {peer: string; name: string; bytes: number; ms: number; via?: string; received: number; fromPartial: number; reused: number};

/** Every copy the peers took (since `marks`: each process's line count then), from their notices ("took a copy of NAME (N bytes ..."). */
function takenCopies(cluster: Cluster, marks?: Map<PeerProc, number>): Taken[] {
	const taken: Taken[] = [];
	for (const peer of cluster.all) {
		for (const line of peer.stderr.lines.slice(marks?.get(peer) ?? 0)) {
			const match = /^peer (\S+): replication: took a copy of (\S+) \((\d+) bytes.*? in (\d+) ms.*?(?: via (\S+))?; received (\d+) bytes \((\d+) from partial holders\), reused (\d+)/.exec(line);
			if (match) {
				taken.push({
					peer: match[1]!, name: match[2]!, bytes: Number(match[3]), ms: Number(match[4]), ...(match[5] ? {via: match[5]} : {}),
					received: Number(match[6]), fromPartial: Number(match[7]), reused: Number(match[8]),
				});
			}
		}
	}

	return taken;
}

/** The holders of the whole file that Find lists. */
async function holdersOf(cluster: Cluster, name: string): Promise<string[]> {
	return ((await trackerJson(cluster, `/files/${name}`))?.peers as Array<{id: string}> | undefined)?.map(peer => peer.id) ?? [];
}

/** A plain `get` of a file of `size` bytes that only `holder` has, by a peer other than `holder` and `not`: its time in ms (the file is removed after). */
async function oneCopyFrom(cluster: Cluster, {holder, name, size, scratch, not}: {holder: string; name: string; size: number; scratch: string; not: readonly string[]}): Promise<number> {
	const source = path.join(scratch, name);
	await writeRandomFile(source, size);
	await rename(source, path.join(cluster.dirs.get(holder)!, name));
	await until(async () => (await holdersOf(cluster, name)).includes(holder), 120_000, `${name} listed at ${holder}`);
	const getter = [...cluster.peers.keys()].find(id => id !== holder && !not.includes(id))!;
	const started = performance.now();
	const got = await cluster.peers.get(getter)!.run(`get ${name}`);
	const ms = performance.now() - started;
	if (!got.ok) {
		throw new Error(`reference get of ${name}: ${JSON.stringify(got)}`);
	}

	await Promise.all([holder, getter].map(async id => rm(path.join(cluster.dirs.get(id)!, name))));
	await until(async () => (await holdersOf(cluster, name)).length === 0, 60_000, `${name} unlisted`);
	return ms;
}

/** Bytes each peer has sent in file uploads since its start (GET /load). */
async function uploadedBy(cluster: Cluster, ids: readonly string[]): Promise<Map<string, number>> {
	return new Map(await Promise.all(ids.map(async id => {
		const reply = await fetch(`${cluster.peers.get(id)!.url}/load`).then(async response => response.json() as Promise<{uploaded: number}>);
		return [id, reply.uploaded] as const;
	})));
}

async function main(): Promise<void> {
	assertBuilt();
	const machine = describeMachine();
	console.log(`replication study (${quick ? 'quick' : 'full'}): ${machine}`);
	const repairs = options['no-repair'] ? [] : await repairTimes(machine);
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

	if (options['no-faults']) {
		return;
	}

	const faults = await faultRun();
	const received = faults.neededBytes + faults.twiceBytes + faults.heldBytes + faults.beyondBytes;
	const incomplete = faults.moved - received;
	const fault: Array<[string, number]> = [
		['peers', settings.peers], ['files', faults.files], ['rounds', faults.rounds], ['files_lost', faults.lost], ['longest_below_r_ms', faults.longestBelowMs],
		['bytes_needed', faults.bytesNeeded], ['bytes_moved', faults.moved], ['moved_per_needed', faults.bytesNeeded > 0 ? Number((faults.moved / faults.bytesNeeded).toFixed(3)) : 0],
		['copies_taken', faults.copies], ['needed_copies', faults.neededCopies], ['needed_bytes', faults.neededBytes],
		['released_on_return_copies', faults.returnedCopies], ['released_on_return_bytes', faults.returnedBytes],
		['twice_by_one_peer_copies', faults.twiceCopies], ['twice_by_one_peer_bytes', faults.twiceBytes],
		['refetched_by_holder_copies', faults.heldCopies], ['refetched_by_holder_bytes', faults.heldBytes],
		['beyond_need_copies', faults.beyondCopies], ['beyond_need_bytes', faults.beyondBytes],
		['incomplete_fetch_bytes', incomplete], ['failed_fetches', faults.failed], ['reused_bytes', faults.reused], ['from_partial_bytes', faults.fromPartial],
		['files_over_r_at_rest', faults.overAtRest], ['file_bytes', faults.fileBytes],
	];
	console.log(formatTable(['fault run', 'value'], fault));
	await saveCsv('replication-faults.csv', fault.map(([key]) => key), [fault.map(([, value]) => value)], machine);
	console.log(`results in ${resultsDir}; chart: ${(await renderReplicationChart(resultsDir)).join(', ')}`);
}

try {
	await main();
} catch (error) {
	await stopAll();
	console.error(error);
	process.exitCode = 1;
}
