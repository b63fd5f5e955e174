import {createHash, randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import path from 'node:path';
import type {ExecutionContext} from 'ava';
import {holdersAt, loadOf} from '../helpers/faults.js';
import {mountTest, run, startMountPeer} from '../helpers/mount.js';
import {eventually, shareDir, startPeer, startTracker} from '../helpers/processes.js';

const test = mountTest(import.meta.filename);
const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

async function holderOf(t: ExecutionContext, {id, tracker, files, args = []}: {id: string; tracker: string; files: Record<string, Buffer>; args?: string[]}) {
	const dir = await shareDir(t);
	for (const [name, bytes] of Object.entries(files)) {
		await writeFile(path.join(dir, name), bytes);
	}

	return startPeer(t, {id, dir, tracker, serve: true, args});
}

test('a holder killed mid-read is replaced: the read goes on from the other and the bytes are right', async t => {
	const tracker = await startTracker(t);
	const bytes = randomBytes(8 * 1024 * 1024);
	// Slow enough that the read is still going when A dies: 8 MiB at 2 MiB/s from each.
	const args = ['--part-size', String(256 * 1024), '--upload-limit', String(2 * 1024 * 1024)];
	const a = await holderOf(t, {id: 'A', tracker: tracker.url, files: {'big.bin': bytes}, args});
	await holderOf(t, {id: 'B', tracker: tracker.url, files: {'big.bin': bytes}, args});
	const me = await startMountPeer(t, {id: 'me', tracker: tracker.url});
	await eventually(async () => ((await holdersAt(tracker.url, 'big.bin')).length === 2 ? true : undefined));
	const reading = run('md5sum', [path.join(me.mnt, 'big.bin')]);
	await eventually(async () => (await loadOf(a.url) > 0 ? true : undefined), {intervalMs: 20});
	await a.kill('SIGKILL');
	const read = await reading;
	t.is(read.code, 0);
	t.is(read.stdout.toString().split(' ')[0], md5(bytes));
	t.regex(me.stderr.lines.join('\n'), /mount: big\.bin: holder A is out \((dropped|down|stalled)/);
});

test('no live holder: a read is EIO within --peer-wait, never a hang', async t => {
	const tracker = await startTracker(t);
	const bytes = randomBytes(1024 * 1024);
	const holder = await holderOf(t, {id: 'A', tracker: tracker.url, files: {'gone.bin': bytes}});
	const me = await startMountPeer(t, {id: 'me', tracker: tracker.url, args: ['--peer-wait', '2000']});
	t.is((await run('ls', [me.mnt])).stdout.toString(), 'gone.bin\n');
	await holder.kill('SIGKILL');
	const read = await run('cat', [path.join(me.mnt, 'gone.bin')]);
	t.not(read.code, 0);
	t.is(read.stdout.length, 0);
	t.regex(read.stderr, /Input\/output error/);
	// --peer-wait (2 s) of retries, a GetLoad timeout, and the read's own slack: well under the 60 s the command is allowed.
	t.true(read.ms < 15_000, `${Math.round(read.ms)} ms`);
	t.regex(me.stderr.lines.join('\n'), /mount: every holder of gone\.bin failed for 2000 ms \(--peer-wait\): its reads fail \(EIO\)/);
});

test('a holder that sends wrong bytes never reaches a reader: another holder serves, or the read is EIO', async t => {
	const tracker = await startTracker(t);
	const bytes = randomBytes(2 * 1024 * 1024);
	const args = ['--part-size', String(256 * 1024)];
	await holderOf(t, {id: 'bad', tracker: tracker.url, files: {'mixed.bin': bytes, 'only-bad.bin': bytes.subarray(0, 1024 * 1024)}, args: [...args, '--fault', 'corrupt=1']});
	await holderOf(t, {id: 'good', tracker: tracker.url, files: {'mixed.bin': bytes}, args});
	const me = await startMountPeer(t, {id: 'me', tracker: tracker.url, args: ['--peer-wait', '1000']});
	await eventually(async () => ((await holdersAt(tracker.url, 'mixed.bin')).length === 2 ? true : undefined));
	const mixed = await run('md5sum', [path.join(me.mnt, 'mixed.bin')]);
	t.is(mixed.stdout.toString().split(' ')[0], md5(bytes));
	const onlyBad = await run('cat', [path.join(me.mnt, 'only-bad.bin')]);
	t.not(onlyBad.code, 0);
	t.is(onlyBad.stdout.length, 0);
	t.regex(onlyBad.stderr, /Input\/output error/);
	t.regex(me.stderr.lines.join('\n'), /mount: only-bad\.bin: holder bad sent wrong bytes \(part \d+ does not match its md5\); nothing of it was returned/);
});

test('while the tracker is down the last listing serves, and files already found are still read', async t => {
	const tracker = await startTracker(t);
	const bytes = randomBytes(512 * 1024);
	await holderOf(t, {id: 'A', tracker: tracker.url, files: {'kept.bin': bytes, 'other.txt': Buffer.from('other\n')}});
	const me = await startMountPeer(t, {id: 'me', tracker: tracker.url});
	t.is((await run('ls', [me.mnt])).stdout.toString(), 'kept.bin\nother.txt\n');
	t.is((await run('head', ['-c', '10', path.join(me.mnt, 'kept.bin')])).code, 0);
	await tracker.kill('SIGKILL');
	// Listed again until a refresh is due (the listing lives 1 s) and fails: from then on the last listing serves.
	await eventually(async () => {
		t.is((await run('ls', [me.mnt])).stdout.toString(), 'kept.bin\nother.txt\n');
		return me.stderr.lines.some(line => line.includes('mount: no file list from the tracker')) ? true : undefined;
	}, {intervalMs: 100});
	t.regex(me.stderr.lines.join('\n'), /mount: no file list from the tracker \(tracker unreachable .*\): the listing of \d+\.\d s ago serves until it answers/);
	t.is((await run('ls', [me.mnt])).stdout.toString(), 'kept.bin\nother.txt\n');
	const read = await run('md5sum', [path.join(me.mnt, 'kept.bin')]);
	t.is(read.stdout.toString().split(' ')[0], md5(bytes));
});
