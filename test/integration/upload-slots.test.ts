import {createHash} from 'node:crypto';
import {readdir, readFile, writeFile} from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import {deterministicBytes} from '../../fixtures/generate.js';
import {eventually, shareDir, startPeer, startTracker} from '../helpers/processes.js';

const MiB = 1024 * 1024;

/** A reader that asks for the file, takes `keep` bytes and then reads no more; resolves with the reply's status once it has them (or the reply ended). */
async function stalledReader(url: string, name: string, keep: number): Promise<{status: number; socket: net.Socket}> {
	const {hostname, port} = new URL(url);
	const socket = net.connect(Number(port), hostname);
	socket.write(`GET /files/${name} HTTP/1.1\r\nHost: ${hostname}\r\nX-Xfs-Peer: stalled\r\n\r\n`);
	return new Promise(resolve => {
		let received = 0;
		let head = '';
		const done = () => {
			socket.pause();
			resolve({status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0), socket});
		};

		socket.on('data', (chunk: Buffer) => {
			if (head.length < 64) {
				head += chunk.toString('latin1', 0, 64);
			}

			received += chunk.length;
			if (received >= keep) {
				done();
			}
		});
		socket.once('end', done);
		socket.once('error', done);
	});
}

async function peakRssMiB(pid: number): Promise<number> {
	const status = await readFile(`/proc/${pid}/status`, 'utf8');
	return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

test('400 readers that stop reading: 32 hold upload slots, the rest get 503 BUSY, a real download still completes, peak RSS stays bounded, fds come back', async t => {
	const content = deterministicBytes(50 * MiB, 7);
	const dir = await shareDir(t);
	await writeFile(path.join(dir, 'big.bin'), content);
	const tracker = await startTracker(t);
	const a = await startPeer(t, {id: 'A', dir, tracker: tracker.url, serve: true, args: ['--upload-idle-ms', '3000']});
	const mine = await shareDir(t);
	const me = await startPeer(t, {id: 'me', dir: mine, tracker: tracker.url});
	const pid = a.child.pid!;
	const fdsBefore = (await readdir(`/proc/${pid}/fd`)).length;
	const readers = await Promise.all(Array.from({length: 400}, async () => stalledReader(a.url, 'big.bin', 2 * MiB)));
	t.teardown(() => {
		for (const {socket} of readers) {
			socket.destroy();
		}
	});
	const statuses = readers.map(reader => reader.status);
	t.is(statuses.filter(status => status === 200).length, 32);
	t.is(statuses.filter(status => status === 503).length, 368);

	const result = await me.run('download big.bin', 120_000);
	t.like(result, {cmd: 'download', ok: true});
	t.is(createHash('md5').update(await readFile(path.join(mine, 'big.bin'))).digest('hex'), createHash('md5').update(content).digest('hex'));
	const peak = await peakRssMiB(pid);
	t.log(`holder peak RSS ${peak.toFixed(0)} MiB`);
	t.true(peak <= 400, `peak RSS ${peak} MiB`);
	// The stalled uploads were ended after --upload-idle-ms: the holder's fds are back where they were.
	await eventually(async () => ((await readdir(`/proc/${pid}/fd`)).length <= fdsBefore + 2 ? true : undefined), {timeoutMs: 20_000});
});
