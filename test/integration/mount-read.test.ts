import {createHash, randomBytes} from 'node:crypto';
import {readFile, stat, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {holdersAt} from '../helpers/faults.js';
import {mountTest, run, sh, startMountPeer} from '../helpers/mount.js';
import {eventually, getJson, shareDir, startPeer, startTracker} from '../helpers/processes.js';

const test = mountTest(import.meta.filename);
const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

/** A holder sharing one file of random bytes; its parts lists cut it in `partSize` parts. */
async function holderOf(t: Parameters<typeof startPeer>[0], {id, tracker, name, bytes, args = []}: {id: string; tracker: string; name: string; bytes: Buffer; args?: string[]}) {
	const dir = await shareDir(t);
	await writeFile(path.join(dir, name), bytes);
	return startPeer(t, {id, dir, tracker, serve: true, args});
}

test('ls -l lists every file the network knows with its size, read-only, and this peer\'s own', async t => {
	const tracker = await startTracker(t);
	await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true});
	await startPeer(t, {id: 'B', dir: await shareDir(t, 'B'), tracker: tracker.url, serve: true});
	const share = await shareDir(t);
	await writeFile(path.join(share, 'mine.txt'), 'only here\n');
	const me = await startMountPeer(t, {id: 'me', tracker: tracker.url, dir: share});
	const ready = me.stdout.lines.find(line => line.includes('"event":"ready"'))!;
	t.is(JSON.parse(ready).mount, me.mnt);
	const expected = await eventually(async () => {
		const files = (await getJson(`${tracker.url}/files`)).body.files as Array<{name: string; size: number}>;
		return files.some(file => file.name === 'mine.txt') && files.length >= 4 ? files : undefined;
	});
	const listing = await run('ls', ['-l', '--time-style=+', me.mnt]);
	t.is(listing.code, 0);
	const rows = listing.stdout.toString().trim().split('\n').slice(1).map(line => line.split(/\s+/));
	t.deepEqual(rows.map(fields => ({mode: fields[0], name: fields[5], size: Number(fields[4])})), expected
		.map(file => ({mode: '-r--r--r--', name: file.name, size: file.size}))
		.sort((a, b) => (a.name < b.name ? -1 : 1)));
});

test('md5sum of a remote file through the mount; read whole, it lands in the share dir and is published', async t => {
	const tracker = await startTracker(t);
	const bytes = randomBytes((3 * 1024 * 1024) + 12_345);
	await holderOf(t, {id: 'H', tracker: tracker.url, name: 'data.bin', bytes, args: ['--part-size', String(256 * 1024)]});
	const me = await startMountPeer(t, {id: 'me', tracker: tracker.url});
	// Two readers at once share one fetch.
	const [first, second] = await Promise.all([run('md5sum', [path.join(me.mnt, 'data.bin')]), run('md5sum', [path.join(me.mnt, 'data.bin')])]);
	t.is(first.stdout.toString().split(' ')[0], md5(bytes));
	t.is(second.stdout.toString().split(' ')[0], md5(bytes));
	await me.stderr.next(/mount: data\.bin read whole through the mount \(parts from H\), checked \(md5 [\da-f]{32}\) and placed in .*: now shared/);
	t.is(md5(await readFile(path.join(me.share, 'data.bin'))), md5(bytes));
	t.deepEqual((await eventually(async () => {
		const holders = await holdersAt(tracker.url, 'data.bin');
		return holders.includes('me') ? holders : undefined;
	})).sort(), ['H', 'me']);
	t.is(me.stderr.lines.filter(line => line.includes('read whole through the mount')).length, 1);
	// Now local: read from the share dir, and still the same bytes.
	t.is((await run('md5sum', [path.join(me.mnt, 'data.bin')])).stdout.toString().split(' ')[0], md5(bytes));
});

test('head of a large rate-limited file returns before the file could have been fetched whole', async t => {
	const tracker = await startTracker(t);
	const bytes = randomBytes(16 * 1024 * 1024);
	// 16 MiB at 1 MiB/s: 16 s whole; head needs the first 64 KiB part and its read-ahead.
	await holderOf(t, {id: 'H', tracker: tracker.url, name: 'large.bin', bytes, args: ['--part-size', String(64 * 1024), '--upload-limit', String(1024 * 1024)]});
	const me = await startMountPeer(t, {id: 'me', tracker: tracker.url});
	const head = await run('head', ['-c', '1000', path.join(me.mnt, 'large.bin')]);
	t.is(head.code, 0);
	t.deepEqual(head.stdout, bytes.subarray(0, 1000));
	const state = JSON.parse(await readFile(path.join(me.share, '.xfs', 'partial', `large.bin.${md5(bytes)}.parts`, 'state.json'), 'utf8')) as {verified: Array<[number, number]>};
	const verified = state.verified.reduce((total, [start, end]) => total + end - start, 0);
	t.true(verified < bytes.length / 8, `${verified} bytes verified`);
	await t.throwsAsync(stat(path.join(me.share, 'large.bin')));
	t.deepEqual(await holdersAt(tracker.url, 'large.bin'), ['H']);
	// A read further on is served from there, without the bytes before it.
	const tail = await sh(`tail -c 100 ${path.join(me.mnt, 'large.bin')}`);
	t.deepEqual(tail.stdout, bytes.subarray(-100));
});

test('parts come from several holders when that pays, and every byte is checked', async t => {
	const tracker = await startTracker(t);
	const bytes = randomBytes(6 * 1024 * 1024);
	const args = ['--part-size', String(256 * 1024), '--upload-limit', String(4 * 1024 * 1024)];
	await holderOf(t, {id: 'A', tracker: tracker.url, name: 'shared.bin', bytes, args});
	await holderOf(t, {id: 'B', tracker: tracker.url, name: 'shared.bin', bytes, args});
	const me = await startMountPeer(t, {id: 'me', tracker: tracker.url});
	await eventually(async () => ((await holdersAt(tracker.url, 'shared.bin')).length === 2 ? true : undefined));
	const read = await run('md5sum', [path.join(me.mnt, 'shared.bin')]);
	t.is(read.stdout.toString().split(' ')[0], md5(bytes));
	// Both holders are as cheap as each other: the read-ahead is spread over them.
	t.regex(await me.stderr.next(/shared\.bin read whole through the mount/), /\(parts from A, B\)/);
});
