/**
 * Boot: a share dir of many small files plus one large file. Times the real peer from
 * spawn to its ready line on a first boot (no hash cache) and on a restart with the dir
 * unchanged, and the hashing alone at several concurrencies.
 *
 * Each round is one first boot then several restarts (a restart takes a tenth of the time
 * and varies more on a shared machine, so it gets more samples); medians are compared.
 *
 * Node reads the CA file NODE_EXTRA_CA_CERTS names at every start, which both cases pay; the
 * machine line says whether it is set, and `node -e 0` rows show what Node's start costs here.
 *
 *   npm run bench:boot [-- --small 10000 --large-mib 1024 --rounds 2 --restarts 5 --csv boot.csv]
 */
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {racyWindowMs} from '../source/share/hash-cache.js';
import {scanShareDir, stateDirName} from '../source/share/share-dir.js';
import {
	assertBuilt, benchFlags, benchTempDir, describeMachine, formatBytes, formatTable, median, memoryOf, MiB,
	requireFreeSpace, saveCsv, startPeerProcess, startTrackerProcess, stopAll, writeRandomFile,
} from './lib.js';

const flags = benchFlags({small: '10000', 'large-mib': '1024', rounds: '2', restarts: '5', csv: 'boot.csv'});
const smallCount = Number(flags.small);
const largeSize = Number(flags['large-mib']) * MiB;
const rounds = Number(flags.rounds);
const restartsPerRound = Number(flags.restarts);

async function main(): Promise<void> {
	assertBuilt();
	const machine = `${describeMachine()}; NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS ? 'set' : 'not set'}`;
	console.log(`machine: ${machine}`);
	const temp = await benchTempDir('boot');
	const shareDir = path.join(temp.dir, 'share');
	await fs.mkdir(shareDir);
	try {
		await requireFreeSpace(temp.dir, largeSize + (smallCount * 16 * 1024) + (512 * MiB));
		console.log(`generating ${smallCount} small files (1-8 KiB) and one ${formatBytes(largeSize)} file in ${shareDir}`);
		await writeRandomFile(path.join(shareDir, 'large.bin'), largeSize);
		let smallBytes = 0;
		for (let index = 0; index < smallCount; index++) {
			const size = 1024 + ((index * 7919) % (7 * 1024));
			smallBytes += size;
			await writeRandomFile(path.join(shareDir, `small-${String(index).padStart(5, '0')}.dat`), size);
		}

		// Files written this recently are hashed but not cached (their mtime cannot be trusted yet); a real share dir is older.
		await sleep(racyWindowMs + 100);
		// The 1 GiB just written is still being flushed to disk; let that finish before timing anything.
		execFileSync('sync');
		console.log(`share dir: ${smallCount + 1} files, ${formatBytes(largeSize + smallBytes)}`);

		const rows: Array<Array<string | number>> = [];
		for (const concurrency of [1, 8]) {
			const started = performance.now();
			const files = await scanShareDir(shareDir, {concurrency, useHashCache: false});
			const ms = performance.now() - started;
			console.log(`scan without cache, concurrency ${concurrency}: ${files.length} files in ${ms.toFixed(0)} ms`);
			rows.push(['scan only (in-process), no cache', `concurrency ${concurrency}`, files.length, files.length, Math.round(ms), '', '']);
		}

		const tracker = await startTrackerProcess();
		const firstBoots: number[] = [];
		const restarts: number[] = [];
		for (let round = 1; round <= rounds; round++) {
			await fs.rm(path.join(shareDir, stateDirName), {recursive: true, force: true});
			for (const kind of ['first boot', ...Array.from({length: restartsPerRound}, () => 'restart, unchanged dir' as const)] as const) {
				const started = performance.now();
				const peer = await startPeerProcess({id: 'boot', dir: shareDir, tracker: tracker.url, args: ['--serve']});
				const bootMs = performance.now() - started;
				const notice = await peer.stderr.next(/shared \d+ file/);
				const [, files = '', hashed = '', scanMs = ''] = /shared (\d+) file\(s\): (\d+) hashed, \d+ from the hash cache, in (\d+) ms/.exec(notice) ?? [];
				const {peak} = memoryOf(peer.pid);
				await peer.stop();
				(kind === 'first boot' ? firstBoots : restarts).push(bootMs);
				console.log(`round ${round}, ${kind}: ready after ${bootMs.toFixed(0)} ms (scan ${scanMs} ms, ${hashed} of ${files} hashed), peak RSS ${formatBytes(peak)}`);
				rows.push([`peer process, round ${round}`, kind, Number(files), Number(hashed), Math.round(bootMs), Number(scanMs), (peak / MiB).toFixed(0)]);
			}
		}

		await tracker.stop();
		// The floor under both: Node starting and exiting with nothing to run, in this environment and,
		// where it is set, without NODE_EXTRA_CA_CERTS (Node reads that CA file at every start).
		const nodeStarts: Array<[string, NodeJS.ProcessEnv]> = [['this environment', process.env]];
		if (process.env.NODE_EXTRA_CA_CERTS) {
			const {NODE_EXTRA_CA_CERTS: _unused, ...without} = process.env;
			nodeStarts.push(['without NODE_EXTRA_CA_CERTS', without]);
		}

		for (const [label, env] of nodeStarts) {
			const ms = median(Array.from({length: 7}, () => {
				const started = performance.now();
				spawnSync(process.execPath, ['-e', '0'], {env});
				return performance.now() - started;
			}));
			console.log(`node -e 0 (${label}): ${ms.toFixed(0)} ms`);
			rows.push(['node -e 0 (Node alone)', label, '', '', Math.round(ms), '', '']);
		}

		const header = ['what', 'case', 'files', 'hashed', 'ms_to_ready', 'scan_ms', 'peak_rss_mib'];
		console.log(`\n${formatTable(header, rows)}`);
		const ratio = median(restarts) / median(firstBoots);
		const scanRows = rows.filter(row => String(row[0]).startsWith('peer process'));
		const scanRatio = median(scanRows.filter(row => row[1] !== 'first boot').map(row => Number(row[5])))
			/ median(scanRows.filter(row => row[1] === 'first boot').map(row => Number(row[5])));
		console.log(`\nrestart / first boot (median, spawn to ready): ${(ratio * 100).toFixed(1)}%  (target <= 10%: ${ratio <= 0.1 ? 'met' : 'MISSED'})`);
		console.log(`restart / first boot (median, share-dir scan alone): ${(scanRatio * 100).toFixed(1)}%`);
		rows.push(['ratio restart/first boot', 'spawn to ready (median)', '', '', (ratio * 100).toFixed(1) + '%', (scanRatio * 100).toFixed(1) + '%', '']);
		console.log(`saved ${await saveCsv(flags.csv!, header, rows, machine)}`);
	} finally {
		await stopAll();
		await temp.remove();
	}
}

await main();
