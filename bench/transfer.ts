/**
 * Transfers against their limits. With --latency-scale 0, a real downloader peer fetches
 * each file from a real uploader peer; in the same run, for the same file:
 *   (a) `curl -o` + `md5sum` of the same URL from the same uploader (the network limit),
 *   (b) `cp` + `md5sum` of the file locally (the local limit).
 * Also compares read/write buffer sizes (highWaterMark) on the same path.
 *
 *   npm run bench:transfer [-- --sizes-mib 64,256,1024 --reps 3 --buffers-kib 64,256,1024 --buffer-mib 256]
 */
import {randomBytes} from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {receiveFile} from '../source/clients/peer-client.js';
import {
	assertBuilt, benchFlags, benchTempDir, cpuMsOf, describeMachine, formatBytes, formatTable, KiB, median, memoryOf, MiB, ownCpuMs,
	repoRoot, requireFreeSpace, saveCsv, splitThreadCpu, startPeerProcess, startProcess, startTrackerProcess, stopAll, threadCpuMsOf, timeShell, writeRandomFile,
} from './lib.js';

const flags = benchFlags({'sizes-mib': '64,256,1024', reps: '3', 'buffers-kib': '64,256,1024', 'buffer-mib': '256', 'buffer-reps': '3'});
const sizes = flags['sizes-mib']!.split(',').map(value => Number(value) * MiB);
const reps = Number(flags.reps);
const bufferSizes = flags['buffers-kib']!.split(',').filter(Boolean).map(value => Number(value) * KiB);
const bufferFileSize = Number(flags['buffer-mib']) * MiB;
const bufferReps = Number(flags['buffer-reps']);

/** Targets of the issue, for the sizes they apply to. */
const maxRatioToCurl = 1;
const maxRatioToCp = 1.15;
const maxPeakRss = 150 * MiB;
const targetSizes = new Set([256 * MiB, 1024 * MiB]);

const fileName = (size: number) => `file-${size / MiB}MiB.bin`;
const mibPerSecond = (bytes: number, ms: number) => (bytes / MiB) / (ms / 1000);

async function measureBufferSizes(upDir: string, downDir: string): Promise<Array<Array<string | number>>> {
	const name = fileName(bufferFileSize);
	const rows: Array<Array<string | number>> = [];
	for (const highWaterMark of bufferSizes) {
		const server = startProcess(path.join(repoRoot, 'bench', 'serve-share.ts'), [upDir, String(highWaterMark)], {nodeArgs: ['--import', 'tsx']});
		const url = (await server.stdout.next(/^serving on /, 60_000)).replace('serving on ', '').trim();
		const times: number[] = [];
		const cpuTimes: number[] = [];
		for (let rep = 0; rep < bufferReps; rep++) {
			const tempPath = path.join(downDir, `${name}.${randomBytes(4).toString('hex')}.part`);
			const cpuBefore = ownCpuMs() + cpuMsOf(server.pid);
			const started = performance.now();
			await receiveFile({url, name, requesterId: 'bench-down', tempPath, expectedSize: bufferFileSize, firstByteTimeoutMs: 30_000, idleTimeoutMs: 30_000, highWaterMark});
			times.push(performance.now() - started);
			cpuTimes.push(ownCpuMs() + cpuMsOf(server.pid) - cpuBefore);
			await fs.rm(tempPath, {force: true});
		}

		const {peak} = memoryOf(server.pid);
		await server.stop();
		const ms = median(times);
		const cpu = median(cpuTimes);
		console.log(`highWaterMark ${formatBytes(highWaterMark)}: ${times.map(time => time.toFixed(0)).join(', ')} ms (median ${ms.toFixed(0)}, ${mibPerSecond(bufferFileSize, ms).toFixed(0)} MiB/s), CPU ${cpuTimes.map(time => time.toFixed(0)).join(', ')} ms, server peak RSS ${formatBytes(peak)}`);
		rows.push([formatBytes(highWaterMark), formatBytes(bufferFileSize), times.map(time => time.toFixed(0)).join(' '), Math.round(ms), mibPerSecond(bufferFileSize, ms).toFixed(0), cpuTimes.map(time => time.toFixed(0)).join(' '), Math.round(cpu), (peak / MiB).toFixed(0)]);
	}

	return rows;
}

async function main(): Promise<void> {
	assertBuilt();
	const machine = describeMachine();
	console.log(`machine: ${machine}`);
	const temp = await benchTempDir('transfer');
	const upDir = path.join(temp.dir, 'up');
	const downDir = path.join(temp.dir, 'down');
	const curlDir = path.join(temp.dir, 'curl');
	const cpDir = path.join(temp.dir, 'cp');
	await Promise.all([upDir, downDir, curlDir, cpDir].map(async dir => fs.mkdir(dir)));
	try {
		const allSizes = [...new Set([...sizes, bufferFileSize])];
		await requireFreeSpace(temp.dir, allSizes.reduce((sum, size) => sum + size, 0) + Math.max(...allSizes) + (1024 * MiB));
		console.log(`generating ${allSizes.map(formatBytes).join(', ')} of random bytes in ${upDir}`);
		for (const size of allSizes) {
			await writeRandomFile(path.join(upDir, fileName(size)), size);
		}

		let bufferRows: Array<Array<string | number>> = [];
		if (bufferSizes.length > 0) {
			console.log(`\nbuffer sizes: one server process per size, receiveFile in this process, ${formatBytes(bufferFileSize)} x ${bufferReps}`);
			bufferRows = await measureBufferSizes(upDir, downDir);
		}

		console.log('\nend to end: tracker, uploader and downloader as real processes, --latency-scale 0');
		const tracker = await startTrackerProcess();
		const peerArgs = ['--latency-scale', '0', '--heartbeat-ms', '5000'];
		const uploader = await startPeerProcess({id: 'up', dir: upDir, tracker: tracker.url, args: [...peerArgs, '--serve']});
		const downloader = await startPeerProcess({id: 'down', dir: downDir, tracker: tracker.url, args: peerArgs});

		const header = [
			'size', 'xfs_ms', 'curl_md5sum_ms', 'cp_md5sum_ms', 'xfs_vs_curl', 'xfs_vs_cp', 'xfs_mib_s', 'down_peak_rss_mib', 'up_peak_rss_mib', 'xfs_runs_ms', 'curl_runs_ms', 'cp_runs_ms', 'targets', 'xfs_cpu_ms', 'curl_md5sum_cpu_ms', 'cp_md5sum_cpu_ms',
			'down_main_cpu_ms', 'down_hashing_cpu_ms', 'down_other_threads_cpu_ms', 'up_main_cpu_ms', 'up_other_threads_cpu_ms',
		];
		const rows: Array<Array<string | number>> = [];
		for (const size of sizes) {
			const name = fileName(size);
			const runs = {xfs: [] as number[], curl: [] as number[], cp: [] as number[]};
			const cpu = {xfs: [] as number[], curl: [] as number[], cp: [] as number[]};
			const threads = {downMain: [] as number[], downHashing: [] as number[], downOther: [] as number[], upMain: [] as number[], upOther: [] as number[]};
			const peersCpu = () => cpuMsOf(uploader.pid) + cpuMsOf(downloader.pid) + cpuMsOf(tracker.pid);
			for (let rep = 1; rep <= reps; rep++) {
				const cpuBefore = peersCpu();
				const [downBefore, upBefore] = [threadCpuMsOf(downloader.pid), threadCpuMsOf(uploader.pid)];
				const started = performance.now();
				const result = await downloader.run(`download ${name}`);
				runs.xfs.push(performance.now() - started);
				cpu.xfs.push(peersCpu() - cpuBefore);
				const down = splitThreadCpu(downloader.pid, downBefore, threadCpuMsOf(downloader.pid));
				const up = splitThreadCpu(uploader.pid, upBefore, threadCpuMsOf(uploader.pid));
				threads.downMain.push(down.main);
				threads.downHashing.push(down.busiest);
				threads.downOther.push(down.rest);
				threads.upMain.push(up.main);
				threads.upOther.push(up.busiest + up.rest);
				if (!result.ok || result.from !== 'up' || result.size !== size) {
					throw new Error(`download ${name} failed: ${JSON.stringify(result)}`);
				}

				await fs.rm(path.join(downDir, name));
				const curlTarget = path.join(curlDir, name);
				const uploaderBefore = cpuMsOf(uploader.pid);
				const curl = await timeShell(`curl -sS --fail -o '${curlTarget}' -H 'X-Xfs-Peer: bench' '${uploader.url}/files/${name}' && md5sum '${curlTarget}'`);
				runs.curl.push(curl.wallMs);
				cpu.curl.push(curl.cpuMs + cpuMsOf(uploader.pid) - uploaderBefore);
				await fs.rm(curlTarget);
				const cpTarget = path.join(cpDir, name);
				const copy = await timeShell(`cp '${path.join(upDir, name)}' '${cpTarget}' && md5sum '${cpTarget}'`);
				runs.cp.push(copy.wallMs);
				cpu.cp.push(copy.cpuMs);
				await fs.rm(cpTarget);
				console.log(`${formatBytes(size)} run ${rep}: xfs ${runs.xfs.at(-1)!.toFixed(0)} ms (CPU ${cpu.xfs.at(-1)!.toFixed(0)}: downloader main ${down.main}, hashing ${down.busiest}, other threads ${down.rest}; uploader main ${up.main}, other threads ${up.busiest + up.rest}), curl+md5sum ${runs.curl.at(-1)!.toFixed(0)} ms (CPU ${cpu.curl.at(-1)!.toFixed(0)}), cp+md5sum ${runs.cp.at(-1)!.toFixed(0)} ms (CPU ${cpu.cp.at(-1)!.toFixed(0)})`);
			}

			const xfs = median(runs.xfs);
			const curl = median(runs.curl);
			const cp = median(runs.cp);
			const down = memoryOf(downloader.pid).peak;
			const up = memoryOf(uploader.pid).peak;
			const ratioCurl = xfs / curl;
			const ratioCp = xfs / cp;
			const verdicts = [
				...(targetSizes.has(size) ? [ratioCurl <= maxRatioToCurl ? 'curl ok' : 'curl MISSED', ratioCp <= maxRatioToCp ? 'cp ok' : 'cp MISSED'] : []),
				down <= maxPeakRss && up <= maxPeakRss ? 'rss ok' : 'rss MISSED',
			];
			rows.push([
				formatBytes(size), Math.round(xfs), Math.round(curl), Math.round(cp), ratioCurl.toFixed(2), ratioCp.toFixed(2),
				mibPerSecond(size, xfs).toFixed(0), (down / MiB).toFixed(0), (up / MiB).toFixed(0),
				runs.xfs.map(Math.round).join(' '), runs.curl.map(Math.round).join(' '), runs.cp.map(Math.round).join(' '), verdicts.join(', '),
				Math.round(median(cpu.xfs)), Math.round(median(cpu.curl)), Math.round(median(cpu.cp)),
				...[threads.downMain, threads.downHashing, threads.downOther, threads.upMain, threads.upOther].map(values => Math.round(median(values))),
			]);
		}

		await Promise.all([downloader.stop(), uploader.stop(), tracker.stop()]);
		if (bufferRows.length > 0) {
			const bufferHeader = ['highWaterMark', 'file', 'runs_ms', 'median_ms', 'mib_s', 'cpu_runs_ms', 'cpu_median_ms', 'server_peak_rss_mib'];
			console.log(`\nbuffer sizes (median of ${bufferReps}):\n${formatTable(bufferHeader, bufferRows)}`);
			console.log(`saved ${await saveCsv('transfer-buffers.csv', bufferHeader, bufferRows, machine)}`);
		}

		console.log(`\nend to end (median of ${reps}; ratios are xfs time / limit time; targets at 256 MiB and 1 GiB: <= ${maxRatioToCurl}x curl+md5sum, <= ${maxRatioToCp}x cp+md5sum; peak RSS <= ${formatBytes(maxPeakRss)}):`);
		console.log(formatTable([...header.slice(0, 9), 'targets'], rows.map(row => [...row.slice(0, 9), row[12]!])));
		console.log(`\nCPU time (user + system, all processes involved; median of ${reps}), less sensitive than wall time to other load on the machine:`);
		console.log(formatTable(['size', 'xfs_cpu_ms', 'curl_md5sum_cpu_ms', 'cp_md5sum_cpu_ms'], rows.map(row => [row[0]!, row[13]!, row[14]!, row[15]!])));
		console.log(`\nxfs CPU by thread (median of ${reps}): the downloader's main thread, its hashing thread, its other threads (V8's GC helpers, libuv's pool), the uploader's main and other threads:`);
		console.log(formatTable(['size', ...header.slice(16)], rows.map(row => [row[0]!, ...row.slice(16)])));
		console.log(`saved ${await saveCsv('transfer.csv', header, rows, machine)}`);
	} finally {
		await stopAll();
		await temp.remove();
	}
}

await main();
