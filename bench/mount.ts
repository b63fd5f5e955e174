/**
 * The mount against its targets, each beside a reference measured in the same run, with real
 * processes (the built programs) at --latency-scale 0:
 *   - `cat` of a 256 MiB remote file through the mount to /dev/null, against `download` of the
 *     same file from the same holder (fresh peers each time, the two alternating);
 *   - `head -c 4096` of a 1 GiB remote file, and the bytes its holder served for it (a counting
 *     proxy sits in front of the holder, which advertises the proxy's address);
 *   - `ls -l` of 10 000 network files: cold (right after the ready line: nothing in the kernel's
 *     caches, the listing asked for at mount start maybe still on its way), warm (again at once:
 *     the kernel's caches answer) and warm past the kernel's caches (1.5 s later: the listing is in
 *     the peer's memory, but every file's attributes are asked of the peer again), beside `ls -l` of
 *     the same files in a dir on disk;
 *   - the mount peer's peak RSS while a 1 GiB file is read through it.
 *
 *   npm run bench:mount [-- --reps 3 --small 10000 --large-mib 1024 --cat-mib 256]
 */
import {once} from 'node:events';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {findFuse} from '../source/mount/fuse-binding.js';
import {
	assertBuilt, benchFlags, benchTempDir, describeMachine, formatTable, median, memoryOf, MiB, requireFreeSpace, saveCsv,
	startPeerProcess, startTrackerProcess, stopAll, timeShell, writeRandomFile, type PeerProc,
} from './lib.js';

const flags = benchFlags({reps: '3', small: '10000', 'large-mib': '1024', 'cat-mib': '256'});
const reps = Number(flags.reps);
const smallFiles = Number(flags.small);
const largeSize = Number(flags['large-mib']) * MiB;
const catSize = Number(flags['cat-mib']) * MiB;
const fast = ['--latency-scale', '0', '--heartbeat-ms', '1000'];

/** Targets of the issue. */
const minCatRatio = 0.6;
const maxHeadMs = 500;
const maxLsWarmMs = 1000;
const maxLsColdMs = 3000;
const maxRss = 200 * MiB;

/** A TCP proxy in front of a holder that counts the bytes the holder sends. */
async function countingProxy(targetPort: number): Promise<{port: number; served: () => number; reset: () => void; close: () => void}> {
	let served = 0;
	const server = net.createServer(client => {
		const upstream = net.connect(targetPort, '127.0.0.1');
		upstream.on('data', (chunk: Buffer) => {
			served += chunk.length;
		});
		client.pipe(upstream).pipe(client);
		const end = () => {
			client.destroy();
			upstream.destroy();
		};

		client.on('error', end);
		upstream.on('error', end);
		client.on('close', end);
		upstream.on('close', end);
	});
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
	return {
		port: (server.address() as net.AddressInfo).port,
		served: () => served,
		reset() {
			served = 0;
		},
		close() {
			server.close();
		},
	};
}

async function freePort(): Promise<number> {
	const server = net.createServer().listen(0, '127.0.0.1');
	await once(server, 'listening');
	const {port} = server.address() as net.AddressInfo;
	await new Promise(resolve => {
		server.close(resolve);
	});
	return port;
}

async function mountPeer(id: string, dir: string, tracker: string): Promise<PeerProc & {mnt: string}> {
	const share = path.join(dir, `${id}-share`);
	const mnt = path.join(dir, `${id}-mnt`);
	await fs.mkdir(share);
	const peer = await startPeerProcess({id, dir: share, tracker, args: [...fast, '--mount', mnt]});
	return {...peer, mnt};
}

/** Waits until the peer has nothing in flight (its load is 0): what it fetched ahead is all in by then. */
async function idle(peer: PeerProc): Promise<void> {
	for (;;) {
		const {load} = await (await fetch(`${peer.url}/load`)).json() as {load: number};
		if (load === 0) {
			return;
		}

		await new Promise(resolve => {
			setTimeout(resolve, 50);
		});
	}
}

/** `download` of cat.bin by a fresh peer, from the command to its result. */
async function timeDownload(dir: string, tracker: string, id: string): Promise<number> {
	const share = path.join(dir, id);
	await fs.mkdir(share);
	const peer = await startPeerProcess({id, dir: share, tracker, args: fast});
	const started = performance.now();
	const result = await peer.run('download cat.bin');
	const ms = performance.now() - started;
	if (!result.ok) {
		throw new Error(`download failed: ${JSON.stringify(result)}`);
	}

	await peer.stop();
	return ms;
}

/** `cat` of cat.bin through a fresh peer's mount to /dev/null; the peer then checks and places it before it stops. */
async function timeCat(dir: string, tracker: string, id: string): Promise<number> {
	const peer = await mountPeer(id, dir, tracker);
	const {wallMs} = await timeShell(`cat ${peer.mnt}/cat.bin > /dev/null`);
	await peer.stderr.next(/cat\.bin read whole through the mount/, 120_000);
	await peer.stop();
	return wallMs;
}

async function main(): Promise<void> {
	assertBuilt();
	const fuse = findFuse();
	if (!fuse.ok) {
		console.log(`skipped: FUSE is not available: ${fuse.missing}`);
		return;
	}

	const machine = describeMachine();
	console.log(`machine: ${machine}`);
	const temp = await benchTempDir('mount');
	const upDir = path.join(temp.dir, 'up');
	const manyDir = path.join(temp.dir, 'many');
	await Promise.all([upDir, manyDir].map(async dir => fs.mkdir(dir)));
	const rows: Array<Array<string | number>> = [];
	try {
		await requireFreeSpace(temp.dir, (largeSize + catSize) * 3);
		console.log(`generating ${catSize / MiB} MiB and ${largeSize / MiB} MiB of random bytes and ${smallFiles} small files`);
		await writeRandomFile(path.join(upDir, 'cat.bin'), catSize);
		await writeRandomFile(path.join(upDir, 'large.bin'), largeSize);
		for (let index = 0; index < smallFiles; index += 500) {
			await Promise.all(Array.from({length: Math.min(500, smallFiles - index)}, async (_, offset) => fs.writeFile(path.join(manyDir, `small-${index + offset}.txt`), `${index + offset}\n`)));
		}

		const tracker = await startTrackerProcess();
		const holderPort = await freePort();
		const proxy = await countingProxy(holderPort);
		await startPeerProcess({id: 'up', dir: upDir, tracker: tracker.url, args: [...fast, '--serve', '--port', String(holderPort), '--advertise', `http://127.0.0.1:${proxy.port}`]});
		await startPeerProcess({id: 'many', dir: manyDir, tracker: tracker.url, args: [...fast, '--serve']});

		// cat through the mount against download, from the same holder, alternating.
		const catMs: number[] = [];
		const downloadMs: number[] = [];
		for (let rep = 0; rep < reps; rep++) {
			const order = rep % 2 === 0 ? ['download', 'cat'] : ['cat', 'download'];
			for (const kind of order) {
				if (kind === 'download') {
					downloadMs.push(await timeDownload(temp.dir, tracker.url, `dl-${rep}`));
				} else {
					catMs.push(await timeCat(temp.dir, tracker.url, `cat-${rep}`));
				}
			}

			console.log(`rep ${rep + 1}: download ${downloadMs.at(-1)!.toFixed(0)} ms, cat through the mount ${catMs.at(-1)!.toFixed(0)} ms`);
		}

		const catRatio = median(downloadMs) / median(catMs);
		rows.push([`cat ${catSize / MiB} MiB through the mount / download`, `${catMs.map(ms => ms.toFixed(0)).join(' ')} ms / ${downloadMs.map(ms => ms.toFixed(0)).join(' ')} ms`, catRatio.toFixed(2), `>= ${minCatRatio}`, catRatio >= minCatRatio ? 'met' : 'NOT met']);

		// head of the large file: the first one finds the holder's parts list not yet hashed.
		const headMs: number[] = [];
		const headBytes: number[] = [];
		for (let rep = 0; rep <= reps; rep++) {
			const peer = await mountPeer(`head-${rep}`, temp.dir, tracker.url);
			proxy.reset();
			const {wallMs} = await timeShell(`head -c 4096 ${peer.mnt}/large.bin > /dev/null`);
			await idle(peer);
			headMs.push(wallMs);
			headBytes.push(proxy.served());
			console.log(`head -c 4096 (${rep === 0 ? 'holder has not hashed its parts yet' : 'parts list hashed'}): ${wallMs.toFixed(0)} ms, holder served ${(proxy.served() / MiB).toFixed(2)} MiB`);
			await peer.stop();
		}

		const warmHead = headMs.slice(1);
		rows.push([
			'head -c 4096 of 1 GiB (holder\'s parts list hashed)', `${warmHead.map(ms => ms.toFixed(0)).join(' ')} ms; served ${headBytes.slice(1).map(bytes => (bytes / MiB).toFixed(2)).join(' ')} MiB`,
			`${median(warmHead).toFixed(0)} ms`, `<= ${maxHeadMs} ms`, median(warmHead) <= maxHeadMs ? 'met' : 'NOT met',
		], ['head -c 4096 of 1 GiB (first: holder hashes its parts list)', `${headMs[0]!.toFixed(0)} ms; served ${(headBytes[0]! / MiB).toFixed(2)} MiB`, `${headMs[0]!.toFixed(0)} ms`, '', '']);

		// ls -l of the network's files: the first one right after the ready line (the listing may still be on its way); the next ones are served from it.
		const coldMs: number[] = [];
		const warmMs: number[] = [];
		const againMs: number[] = [];
		for (let rep = 0; rep < reps; rep++) {
			const peer = await mountPeer(`ls-${rep}`, temp.dir, tracker.url);
			const expected = smallFiles + 2;
			const count = async () => Number((await fs.readdir(peer.mnt)).length);
			coldMs.push((await timeShell(`ls -l ${peer.mnt} > /dev/null`)).wallMs);
			// At once again: the kernel's attribute and entry caches (1 s) answer.
			againMs.push((await timeShell(`ls -l ${peer.mnt} > /dev/null`)).wallMs);
			// Past the listing's TTL and the kernel's attribute cache: served from the listing while it refreshes, one call into the peer per file.
			await new Promise(resolve => {
				setTimeout(resolve, 1500);
			});
			warmMs.push((await timeShell(`ls -l ${peer.mnt} > /dev/null`)).wallMs);
			const listed = await count();
			if (listed !== expected) {
				throw new Error(`ls saw ${listed} names, expected ${expected}`);
			}

			console.log(`ls -l of ${smallFiles + 2} files: cold ${coldMs.at(-1)!.toFixed(0)} ms, again at once ${againMs.at(-1)!.toFixed(0)} ms, warm past the kernel's cache ${warmMs.at(-1)!.toFixed(0)} ms`);
			await peer.stop();
		}

		// The reference: ls -l of the same files in a share dir on disk, in this run (the machine's load weighs on both).
		const diskMs: number[] = [];
		for (let rep = 0; rep < reps; rep++) {
			diskMs.push((await timeShell(`ls -l ${manyDir} > /dev/null`)).wallMs);
		}

		rows.push([`ls -l of ${smallFiles} files in a dir on disk (reference)`, `${diskMs.map(ms => ms.toFixed(0)).join(' ')} ms`, `${median(diskMs).toFixed(0)} ms`, '', ''], [`ls -l of ${smallFiles + 2} network files, cold`, `${coldMs.map(ms => ms.toFixed(0)).join(' ')} ms`, `${median(coldMs).toFixed(0)} ms`, `<= ${maxLsColdMs} ms`, median(coldMs) <= maxLsColdMs ? 'met' : 'NOT met'], [`ls -l of ${smallFiles + 2} network files, warm (again at once: the kernel's 1 s caches)`, `${againMs.map(ms => ms.toFixed(0)).join(' ')} ms`, `${median(againMs).toFixed(0)} ms`, `<= ${maxLsWarmMs} ms`, median(againMs) <= maxLsWarmMs ? 'met' : 'NOT met'], [`ls -l of ${smallFiles + 2} network files, warm past the kernel's caches (listing in memory)`, `${warmMs.map(ms => ms.toFixed(0)).join(' ')} ms`, `${median(warmMs).toFixed(0)} ms`, `<= ${maxLsWarmMs} ms`, median(warmMs) <= maxLsWarmMs ? 'met' : 'NOT met']);

		// Memory while a large file is read whole through the mount.
		const peer = await mountPeer('rss', temp.dir, tracker.url);
		const {wallMs} = await timeShell(`cat ${peer.mnt}/large.bin > /dev/null`);
		const {peak} = memoryOf(peer.pid);
		console.log(`cat of ${largeSize / MiB} MiB through the mount: ${wallMs.toFixed(0)} ms, peer peak RSS ${(peak / MiB).toFixed(0)} MiB`);
		rows.push([`peer peak RSS, cat of ${largeSize / MiB} MiB through the mount`, `${wallMs.toFixed(0)} ms`, `${(peak / MiB).toFixed(0)} MiB`, `<= ${maxRss / MiB} MiB`, peak <= maxRss ? 'met' : 'NOT met']);
		await peer.stderr.next(/large\.bin read whole through the mount/, 300_000);
		await peer.stop();
		proxy.close();

		const header = ['measure', 'runs', 'result', 'target', ''];
		console.log(`\n${formatTable(header, rows)}`);
		// The machine is shared: its load at the end says what the figures ran beside.
		const loadAtEnd = os.loadavg().map(value => value.toFixed(2)).join(' ');
		console.log(`saved ${await saveCsv('mount.csv', header, rows, `${machine}, at end ${loadAtEnd}`)}`);
	} finally {
		await stopAll();
		await temp.remove();
	}
}

await main();
