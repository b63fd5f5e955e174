import {createHash} from 'node:crypto';
import {truncate, utimes, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {deterministicBytes} from '../../fixtures/generate.js';
import {eventually, getJson, shareDir, startPeer, startTracker} from '../helpers/processes.js';

const md5Of = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');
// Neither a watch nor a rescan: only serving and reports can notice the change.
const blindHolder = ['--no-watch', '--rescan-ms', '0'];

test('a holder whose file was truncated stops offering the old md5 as soon as it is asked for the file', async t => {
	const tracker = await startTracker(t);
	const dir = await shareDir(t);
	const content = deterministicBytes(1024 * 1024, 3);
	await writeFile(path.join(dir, 'big.bin'), content);
	await startPeer(t, {id: 'A', dir, tracker: tracker.url, serve: true, args: blindHolder});
	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: tracker.url});
	t.is((await getJson(`${tracker.url}/files/big.bin`)).body.md5, md5Of(content));
	await truncate(path.join(dir, 'big.bin'), 512 * 1024);
	const started = Date.now();
	const result = await me.run('download big.bin');
	// The holder refused the changed file, hashed it again and published what it now is; the download got that.
	t.like(result, {cmd: 'download', ok: true, md5: md5Of(content.subarray(0, 512 * 1024)), size: 512 * 1024});
	t.like((await getJson(`${tracker.url}/files/big.bin`)).body, {md5: md5Of(content.subarray(0, 512 * 1024)), size: 512 * 1024});
	t.log(`stale md5 withdrawn and the new one downloaded ${Date.now() - started} ms after the truncate`);
});

test('a file rewritten with its size and mtime kept: the holder lists the old md5, and a downloader\'s mismatch report makes it hash the file again', async t => {
	const tracker = await startTracker(t);
	const dir = await shareDir(t);
	const file = path.join(dir, 'doc.bin');
	const before = deterministicBytes(300 * 1024, 4);
	await writeFile(file, before);
	const anHourAgo = new Date(Date.now() - 3_600_000);
	await utimes(file, anHourAgo, anHourAgo);
	// A first run remembers the md5 in its hash cache; then the file is rewritten behind its back, stamp kept.
	const first = await startPeer(t, {id: 'A', dir, tracker: tracker.url, serve: true, args: blindHolder});
	await first.kill('SIGTERM');
	const after = deterministicBytes(300 * 1024, 5);
	await writeFile(file, after);
	await utimes(file, anHourAgo, anHourAgo);
	await startPeer(t, {id: 'A', dir, tracker: tracker.url, serve: true, args: blindHolder});
	t.is((await getJson(`${tracker.url}/files/doc.bin`)).body.md5, md5Of(before), 'the stale md5, from the cache');
	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: tracker.url, args: ['--peer-wait', '20000']});
	const result = await me.run('download doc.bin');
	t.like(result, {cmd: 'download', ok: true, md5: md5Of(after)});
	t.is(result.attempts[0].outcome, 'checksum-mismatch');
	t.is((await getJson(`${tracker.url}/files/doc.bin`)).body.md5, md5Of(after));
});

test('a stranger\'s mismatch reports are rate-limited: one re-hash per file per 10 s, and none for a name not listed', async t => {
	const tracker = await startTracker(t);
	const a = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true, args: blindHolder});
	const replies = await Promise.all(Array.from({length: 20}, async () => (await fetch(`${a.url}/files/song.mp3/verify`, {method: 'POST'})).json() as Promise<{queued: boolean}>));
	t.is(replies.filter(reply => reply.queued).length, 1);
	t.deepEqual(await (await fetch(`${a.url}/files/nothing.bin/verify`, {method: 'POST'})).json(), {name: 'nothing.bin', queued: false});
	await eventually(async () => ((await getJson(`${tracker.url}/files/song.mp3`)).status === 200 ? true : undefined));
});
