import {mkdir, readdir, rm, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {deterministicBytes} from '../../fixtures/generate.js';
import {mountTmpfs, remountReadOnly} from '../helpers/tmpfs.js';
import {eventually, getJson, shareDir, startPeer, startTracker, type PeerProcess} from '../helpers/processes.js';

const MiB = 1024 * 1024;
const content = deterministicBytes(20 * MiB, 11);

async function holders(t: any, tracker: string, ids: string[], args: string[] = []): Promise<PeerProcess[]> {
	return Promise.all(ids.map(async id => {
		const dir = await shareDir(t);
		await writeFile(path.join(dir, 'big.bin'), content);
		return startPeer(t, {id, dir, tracker, serve: true, args});
	}));
}

/** What the downloader left in its partial folder. */
async function leftovers(dir: string): Promise<string[]> {
	return readdir(path.join(dir, '.xfs', 'partial')).catch(() => []);
}

test('a file larger than the free space fails at once with NO_SPACE naming what it needs; no holder is tried or blamed', async t => {
	const disk = await mountTmpfs(t, 5);
	if (!disk) {
		t.pass();
		return;
	}

	const tracker = await startTracker(t);
	await holders(t, tracker.url, ['A']);
	const me = await startPeer(t, {id: 'me', dir: disk, tracker: tracker.url});
	const result = await me.run('download big.bin');
	t.like(result, {cmd: 'download', ok: false, error: {code: 'NO_SPACE'}, attempts: []});
	t.regex(result.error.message, /needs 20\.0 MiB more, [\d.]+ MiB is free/);
	t.true(result.error.message.includes(disk));
	t.deepEqual((await getJson(`${tracker.url}/peers`)).body.peers.map((peer: any) => peer.id).sort(), ['A', 'me']);
});

for (const [mode, ids, args] of [['one holder', ['A'], ['--max-sources', '1']], ['parts from two holders', ['A', 'B'], ['--part-size', String(MiB)]]] as const) {
	test(`the disk fills mid-download (${mode}): NO_SPACE at once, no holder blamed, nothing left filling the disk`, async t => {
		const disk = await mountTmpfs(t, 30);
		if (!disk) {
			t.pass();
			return;
		}

		const tracker = await startTracker(t);
		const started = await holders(t, tracker.url, [...ids], ['--upload-limit', String(2 * MiB)]);
		const me = await startPeer(t, {id: 'me', dir: disk, tracker: tracker.url, args: [...args]});
		me.child.stdin.write('download big.bin\n');
		await eventually(async () => ((await getJson(`${started[0]!.url}/load`)).body.load > 0 ? true : undefined));
		// Something else fills the disk while the download runs.
		await mkdir(path.join(disk, 'other'), {recursive: true});
		await writeFile(path.join(disk, 'other', 'filler'), Buffer.alloc(29 * MiB)).catch(() => {});
		const filledAt = Date.now();
		const result = JSON.parse(await me.stdout.next(line => line.startsWith('{"cmd"')));
		t.like(result, {cmd: 'download', ok: false, error: {code: 'NO_SPACE'}});
		t.false(result.attempts.some((attempt: {outcome: string}) => ['down', 'dropped', 'stalled'].includes(attempt.outcome)), JSON.stringify(result.attempts));
		t.true(Date.now() - filledAt < 8000, 'no rounds of retries against other holders');
		t.deepEqual(await leftovers(disk), []);
		t.deepEqual((await getJson(`${tracker.url}/peers`)).body.peers.map((peer: any) => peer.id).sort(), [...ids, 'me']);
		await rm(path.join(disk, 'other'), {recursive: true});
	});
}

for (const [mode, args] of [['one holder', ['--max-sources', '1']], ['parts from two holders', ['--part-size', String(MiB)]]] as const) {
	test(`a share dir remounted read-only (${mode}): the download is LOCAL_IO at once, no holder blamed`, async t => {
		const disk = await mountTmpfs(t, 40);
		if (!disk) {
			t.pass();
			return;
		}

		const tracker = await startTracker(t);
		await holders(t, tracker.url, ['A', 'B']);
		const me = await startPeer(t, {id: 'me', dir: disk, tracker: tracker.url, args: [...args]});
		// The kernel refuses a read-only remount while a file is open for writing, so it comes before the download.
		await remountReadOnly(disk);
		const result = await me.run('download big.bin');
		t.like(result, {cmd: 'download', ok: false, error: {code: 'LOCAL_IO'}});
		t.regex(result.error.message, /EROFS/);
		t.deepEqual(result.attempts, []);
	});
}

test('the share dir deleted mid-download: LOCAL_IO at once, no holder blamed', async t => {
	const root = await shareDir(t);
	const dir = path.join(root, 'share');
	await mkdir(dir);
	const tracker = await startTracker(t);
	const [a] = await holders(t, tracker.url, ['A'], ['--upload-limit', String(4 * MiB)]);
	const me = await startPeer(t, {id: 'me', dir, tracker: tracker.url, args: ['--max-sources', '1']});
	me.child.stdin.write('download big.bin\n');
	await eventually(async () => ((await getJson(`${a!.url}/load`)).body.load > 0 ? true : undefined));
	await rm(dir, {recursive: true});
	const result = JSON.parse(await me.stdout.next(line => line.startsWith('{"cmd"')));
	t.like(result, {cmd: 'download', ok: false, error: {code: 'LOCAL_IO'}});
	t.regex(result.error.message, /ENOENT/);
	t.false(result.attempts.some((attempt: {outcome: string}) => ['down', 'dropped', 'stalled'].includes(attempt.outcome)), JSON.stringify(result.attempts));
});
