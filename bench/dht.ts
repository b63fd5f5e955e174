/**
 * Serverless Find. In one process (two cores cannot run 50 peer processes): N DHT nodes
 * (bittorrent-dht, loopback UDP), each with a minimal HTTP holder answering GET /files/:name/info
 * and GET /load, announcing its files with the peer's own DhtPresence; and, in the same run, a
 * tracker holding the same lists. The finds are a user's: `find <name>` typed into a real
 * xfs-peer process (dist/), one joined to the DHT with no tracker, one with the tracker only;
 * each is the whole command (the lookup or the tracker's Find, every holder asked, GetLoad of
 * each, the ranking, the JSON line back). Measures:
 *   1. find p50/p99 through the DHT beside the same finds through the tracker, and the DHT
 *      lookup alone (in process, waited to its end);
 *   2. churn: 10 of the 50 killed at once (socket and server closed, no goodbye, as kill -9);
 *      finds of names that still have live holders, from 2 s later;
 *   3. DHT messages per find and per announce at 10, 50 and 200 nodes, against log2 n.
 *
 *   npm run bench:dht [-- --peers 50 --files-per-peer 20 --names 200 --finds 300 --kill 10]
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {DhtNode, nameKey, nodeIdOf} from '../source/common/dht-node.js';
import type {FileEntry} from '../source/common/wire.js';
import {TrackerClient} from '../source/clients/tracker-client.js';
import {createIdentity} from '../source/common/signing.js';
import {DhtPresence} from '../source/peer/dht-presence.js';
import {startTracker} from '../tracker/server.js';
import {assertBuilt, benchFlags, describeMachine, formatTable, type PeerProc, saveCsv, startPeerProcess, stopAll} from './lib.js';

const flags = benchFlags({peers: '50', 'files-per-peer': '20', names: '200', finds: '300', kill: '10', scales: '10,50,200', 'scale-samples': '30'});
const peerCount = Number(flags.peers);
const filesPerPeer = Number(flags['files-per-peer']);
const nameCount = Number(flags.names);
const findCount = Number(flags.finds);
const killCount = Number(flags.kill);

type Holder = {id: string; dht: DhtNode; server: http.Server; url: string; files: FileEntry[]; presence: DhtPresence; alive: boolean};

const md5Of = (name: string) => Buffer.from(nameKey(name)).toString('hex').slice(0, 32);
const fileName = (index: number) => `file-${String(index).padStart(4, '0')}.bin`;
/** A deterministic spread: peer p holds names p*k .. p*k+filesPerPeer-1 (mod names), so each name has about peers*files/names holders. */
const filesOf = (peer: number): FileEntry[] => Array.from({length: filesPerPeer}, (_, index) => {
	const name = fileName(((peer * 7) + (index * 11)) % nameCount);
	return {name, md5: md5Of(name), size: 1000};
});

async function holderServer(id: string, files: FileEntry[]): Promise<http.Server> {
	const byName = new Map(files.map(file => [file.name, file]));
	const server = http.createServer((request, response) => {
		response.setHeader('content-type', 'application/json');
		const info = /^\/files\/([^/]+)\/info$/.exec(request.url ?? '');
		if (request.url === '/load') {
			response.end(JSON.stringify({id, load: 0}));
		} else if (request.url === '/files') {
			response.end(JSON.stringify({id, files}));
		} else if (info && byName.has(decodeURIComponent(info[1]!))) {
			response.end(JSON.stringify({id, ...byName.get(decodeURIComponent(info[1]!))}));
		} else {
			response.statusCode = 404;
			response.end(JSON.stringify({error: {code: 'NOT_FOUND', message: 'no'}}));
		}
	});
	server.keepAliveTimeout = 60_000;
	await new Promise<void>(resolve => {
		server.listen(0, '127.0.0.1', resolve);
	});
	return server;
}

async function startHolders(count: number): Promise<Holder[]> {
	const holders: Holder[] = [];
	for (let peer = 0; peer < count; peer++) {
		const id = `p${peer}`;
		const files = filesOf(peer);
		const [dht, server] = await Promise.all([
			DhtNode.start({nodeId: nodeIdOf(id), port: 0, host: '127.0.0.1', bootstrap: peer === 0 ? [] : [holders[0]!.dht.address], recordTtlMs: 900_000}),
			holderServer(id, files),
		]);
		const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
		const presence = new DhtPresence({id, dht, url: () => url, entries: () => files, entry: name => files.find(file => file.name === name), announceMs: 300_000});
		holders.push({id, dht, server, url, files, presence, alive: true});
	}

	return holders;
}

const percentile = (values: number[], p: number) => {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
};

const round = (ms: number) => Math.round(ms * 10) / 10;

async function dirIn(parent: string, name: string): Promise<string> {
	const dir = path.join(parent, name);
	await fs.mkdir(dir);
	return dir;
}

async function main(): Promise<void> {
	assertBuilt();
	const machine = describeMachine();
	const rows: Array<Array<string | number>> = [];
	process.stdout.write(`bench:dht: ${peerCount} DHT nodes + minimal HTTP holders in one process, ${filesPerPeer} files each of ${nameCount} names; ${machine}\n`);
	const holders = await startHolders(peerCount);
	const started = performance.now();
	await Promise.all(holders.map(async holder => holder.presence.announceAll()));
	const announceMs = performance.now() - started;
	process.stdout.write(`announced ${peerCount * (filesPerPeer + 2)} keys in ${Math.round(announceMs)} ms\n`);

	// No heartbeats here: the tracker keeps the lists for the whole run.
	const tracker = await startTracker({port: 0, warmupMs: 0, probeOnJoin: false, ttlMs: 3_600_000});
	for (const holder of holders) {
		// Each holder signs its own list (the tracker binds its machID to its key).
		await new TrackerClient(tracker.url, {identity: createIdentity()}).updateList(holder.id, holder.url, holder.files);
	}

	// The finders are real peers, as a user runs them: one without a tracker (joined through p0), one with the tracker only.
	const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'xfs-bench-dht-'));
	const finderArgs = ['--latency-scale', '0', '--announce-ms', '300000'];
	const [dhtFinder, trackerFinder] = await Promise.all([
		startPeerProcess({id: 'finder-dht', dir: await dirIn(scratch, 'dht'), args: ['--bootstrap', holders[0]!.dht.address, ...finderArgs]}),
		startPeerProcess({id: 'finder-tracker', dir: await dirIn(scratch, 'tracker'), tracker: tracker.url, args: finderArgs}),
	]);
	const findVia = async (finder: PeerProc, name: string) => {
		const t0 = performance.now();
		const result = await finder.run(`find ${name}`, 30_000);
		return {ms: performance.now() - t0, ok: result.ok === true, md5: result.md5 as string | undefined, ids: ((result.peers ?? []) as Array<{id: string}>).map(peer => peer.id)};
	};

	const holdersOf = (name: string) => holders.filter(holder => holder.files.some(file => file.name === name));
	const heldNames = [...new Set(holders.flatMap(holder => holder.files.map(file => file.name)))];
	// The same finds, in the same order, through each path; the lookup alone from one of the holders' nodes.
	const workload = Array.from({length: findCount}, (_, index) => ({from: holders[(index * 13) % peerCount]!, name: heldNames[(index * 17) % heldNames.length]!}));
	const dhtMs: number[] = [];
	const trackerMs: number[] = [];
	const lookupMs: number[] = [];
	let dhtRight = 0;
	let holdersFound = 0;
	let holdersTotal = 0;
	for (const {from, name} of workload) {
		const viaTracker = await findVia(trackerFinder, name);
		trackerMs.push(viaTracker.ms);
		const viaDht = await findVia(dhtFinder, name);
		dhtMs.push(viaDht.ms);
		const t0 = performance.now();
		await from.dht.lookup(nameKey(name));
		lookupMs.push(performance.now() - t0);
		const expected = holdersOf(name).map(holder => holder.id);
		holdersFound += viaDht.ids.filter(id => expected.includes(id)).length;
		holdersTotal += expected.length;
		if (viaDht.ok && viaDht.ids.length > 0 && viaDht.md5 === md5Of(name) && viaTracker.md5 === md5Of(name)) {
			dhtRight++;
		}

		if (dhtMs.length % 10 === 0) {
			process.stdout.write(`  ${dhtMs.length} finds, last through the DHT ${Math.round(dhtMs.at(-1)!)} ms (lookup alone ${Math.round(lookupMs.at(-1)!)} ms), through the tracker ${Math.round(trackerMs.at(-1)!)} ms\n`);
		}
	}

	rows.push(
		['find (xfs-peer, no tracker)', 'dht', peerCount, findCount, round(percentile(dhtMs, 0.5)), round(percentile(dhtMs, 0.99)), dhtRight, `finds with a holder and the right md5; ${Math.round(100 * holdersFound / holdersTotal)} % of all holders found`],
		['lookup alone (in process, to its end)', 'dht', peerCount, findCount, round(percentile(lookupMs, 0.5)), round(percentile(lookupMs, 0.99)), findCount, 'the whole DHT lookup, from a holder\'s node'],
		['find (xfs-peer, tracker)', 'tracker', peerCount, findCount, round(percentile(trackerMs, 0.5)), round(percentile(trackerMs, 0.99)), findCount, ''],
	);

	// Churn: killCount at once, no goodbye; finds from 2 s later.
	const killed = holders.slice(peerCount - killCount);
	await Promise.all(killed.map(async holder => {
		holder.alive = false;
		holder.presence.stop();
		holder.server.closeAllConnections();
		await Promise.all([holder.dht.stop(), new Promise(resolve => {
			holder.server.close(resolve);
		})]);
	}));
	process.stdout.write(`killed ${killCount}\n`);
	await sleep(2000);
	const liveNames = heldNames.filter(name => holdersOf(name).some(holder => holder.alive));
	const churnMs: number[] = [];
	let churnOk = 0;
	let deadOffered = 0;
	const churnFinds = Math.min(findCount, 200);
	for (let index = 0; index < churnFinds; index++) {
		const name = liveNames[(index * 17) % liveNames.length]!;
		const reply = await findVia(dhtFinder, name);
		churnMs.push(reply.ms);
		const offeredDead = reply.ids.some(id => killed.some(holder => holder.id === id));
		deadOffered += offeredDead ? 1 : 0;
		if (reply.ok && reply.ids.length > 0 && reply.md5 === md5Of(name) && !offeredDead) {
			churnOk++;
		}
	}

	rows.push(['churn find (xfs-peer, no tracker)', 'dht', peerCount - killCount, churnFinds, round(percentile(churnMs, 0.5)), round(percentile(churnMs, 0.99)), churnOk, `${killCount} killed at once, finds from 2 s later; ${deadOffered} finds offered a dead holder`]);
	await Promise.all([dhtFinder.stop(), trackerFinder.stop()]);
	await fs.rm(scratch, {recursive: true, force: true});
	const live = holders.filter(holder => holder.alive);
	await Promise.all(live.map(async holder => {
		holder.presence.stop();
		holder.server.closeAllConnections();
		await Promise.all([holder.dht.stop(), new Promise(resolve => {
			holder.server.close(resolve);
		})]);
	}));
	await tracker.close();

	process.stdout.write('churn done\n');
	// Scale: messages per lookup and per announce (all packets any node sent, and the queries the origin sent), at each size.
	for (const size of flags.scales.split(',').map(Number)) {
		const nodes: DhtNode[] = [];
		for (let index = 0; index < size; index++) {
			nodes.push(await DhtNode.start({nodeId: nodeIdOf(`s${index}`), port: 0, host: '127.0.0.1', bootstrap: index === 0 ? [] : [nodes[Math.floor(Math.random() * index)]!.address], recordTtlMs: 900_000}));
		}

		// Routing tables settle: each node looks up a random key once.
		await Promise.all(nodes.map(async (node, index) => node.lookup(nameKey(`warm-${index}`))));
		const total = () => nodes.reduce((sum, node) => sum + node.stats.sent, 0);
		const samples = Number(flags['scale-samples']);
		let announcePackets = 0;
		let announceOwn = 0;
		let lookupPackets = 0;
		let lookupOwn = 0;
		for (let sample = 0; sample < samples; sample++) {
			const origin = nodes[(sample * 7) % size]!;
			const key = nameKey(`scale-${size}-${sample}`);
			let before = total();
			let own = origin.stats.sent;
			await origin.announce(key, 1234);
			await sleep(20);
			announcePackets += total() - before;
			announceOwn += origin.stats.sent - own;
			const finder = nodes[((sample * 7) + 3) % size]!;
			before = total();
			own = finder.stats.sent;
			await finder.lookup(key);
			await sleep(20);
			lookupPackets += total() - before;
			lookupOwn += finder.stats.sent - own;
		}

		const log2 = Math.round(Math.log2(size) * 10) / 10;
		rows.push(
			['messages per find', 'dht', size, samples, '', '', round(lookupOwn / samples), `${round(lookupPackets / samples)} packets in all (queries and replies); log2 n = ${log2}`],
			['messages per announce', 'dht', size, samples, '', '', round(announceOwn / samples), `${round(announcePackets / samples)} packets in all (lookup, then announce_peer to the k closest); log2 n = ${log2}`],
		);
		await Promise.all(nodes.map(async node => node.stop()));
	}

	const header = ['measure', 'path', 'nodes', 'count', 'p50_ms', 'p99_ms', 'ok_or_queries', 'note'];
	process.stdout.write(`${formatTable(header, rows)}\n`);
	const file = await saveCsv('dht.csv', header, rows, machine);
	process.stdout.write(`saved ${file}\n`);
}

try {
	await main();
} finally {
	await stopAll();
}

process.exit(0);
