import {createHash} from 'node:crypto';
import {readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {eventually, getJson, shareDir, startPeer, startTracker} from '../helpers/processes.js';

test('find lists every holder with latency, load and cost, best first', async t => {
	const tracker = await startTracker(t);
	await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true});
	await startPeer(t, {id: 'B', dir: await shareDir(t, 'B'), tracker: tracker.url, serve: true});
	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: tracker.url});
	const found = await me.run('find song.mp3');
	t.is(found.ok, true);
	t.is(found.name, 'song.mp3');
	t.is(found.md5, 'd08e392ca9da2b83784f74b956b818de');
	t.is(found.size, 1_536_000);
	t.deepEqual(found.peers.map((peer: any) => [peer.id, peer.latencyMs, peer.load, peer.cost]), [['A', 150, 0, 150], ['B', 600, 0, 600]]);
});

test('find is exact: a prefix or other case finds nothing', async t => {
	const tracker = await startTracker(t);
	await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true});
	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: tracker.url});
	t.is((await me.run('find song')).error.code, 'NOT_FOUND');
	t.is((await me.run('find SONG.MP3')).error.code, 'NOT_FOUND');
	t.is((await me.run('find song.mp3')).ok, true);
});

test('download lands a verified file, the downloader becomes a holder, a second download is ALREADY_HAVE', async t => {
	const tracker = await startTracker(t);
	const aDir = await shareDir(t, 'A');
	await startPeer(t, {id: 'A', dir: aDir, tracker: tracker.url, serve: true});
	await startPeer(t, {id: 'B', dir: await shareDir(t, 'B'), tracker: tracker.url, serve: true});
	const meDir = await shareDir(t);
	const me = await startPeer(t, {id: 'me', dir: meDir, tracker: tracker.url});
	const result = await me.run('download song.mp3');
	t.is(result.ok, true);
	t.is(result.from, 'A');
	t.is(result.md5, 'd08e392ca9da2b83784f74b956b818de');
	t.is(result.path, path.join(meDir, 'song.mp3'));
	t.deepEqual(result.attempts, [{peer: 'A', outcome: 'ok'}]);
	t.deepEqual(await readFile(path.join(meDir, 'song.mp3')), await readFile(path.join(aDir, 'song.mp3')));

	const {body} = await getJson(`${tracker.url}/files/song.mp3`);
	t.deepEqual(body.peers.map((peer: any) => peer.id), ['A', 'B', 'me']);

	const again = await me.run('download song.mp3');
	t.is(again.ok, false);
	t.is(again.error.code, 'ALREADY_HAVE');
});

test('download of a file nobody holds is NOT_FOUND at once', async t => {
	const tracker = await startTracker(t);
	await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true});
	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: tracker.url});
	const result = await me.run('download missing.bin');
	t.is(result.error.code, 'NOT_FOUND');
});

test('a peer never downloads from itself', async t => {
	const tracker = await startTracker(t);
	const a = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url});
	const result = await a.run('download notes.md');
	t.is(result.error.code, 'ALREADY_HAVE');
	const found = await a.run('find notes.md');
	t.is(found.local, true);
	t.deepEqual(found.peers, []);
});

test('getload answers by machID and by host:port', async t => {
	const tracker = await startTracker(t);
	const a = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true});
	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: tracker.url});
	t.deepEqual(await me.run('getload A'), {cmd: 'getload', ok: true, id: 'A', load: 0});
	t.deepEqual(await me.run(`getload ${new URL(a.url).host}`), {cmd: 'getload', ok: true, id: 'A', load: 0});
	t.is((await me.run('getload nobody')).error.code, 'NOT_FOUND');
});

test('a file added out of band is found after updatelist', async t => {
	const tracker = await startTracker(t);
	const aDir = await shareDir(t, 'A');
	// No watch and no rescan: only updatelist publishes it (the watch has its own tests in share-watch).
	const a = await startPeer(t, {id: 'A', dir: aDir, tracker: tracker.url, args: ['--no-watch', '--rescan-ms', '0']});
	await writeFile(path.join(aDir, 'late.txt'), 'added while running\n');
	t.is((await getJson(`${tracker.url}/files/late.txt`)).status, 404);
	t.deepEqual(await a.run('updatelist'), {cmd: 'updatelist', ok: true, files: 4});
	const {status, body} = await getJson(`${tracker.url}/files/late.txt`);
	t.is(status, 200);
	t.deepEqual(body.peers.map((peer: any) => peer.id), ['A']);
	t.is(body.md5, createHash('md5').update('added while running\n').digest('hex'));
});

for (const [mode, holders, args] of [['one holder', ['A'], []], ['parts from two holders', ['A', 'B'], ['--part-size', '262144']]] as const) {
	test(`a verified download discarded because the name appeared meanwhile is ALREADY_HAVE and reports its attempts (${mode})`, async t => {
		const tracker = await startTracker(t);
		// Slow holders: the download is still running when the user creates the file.
		const started = await Promise.all(holders.map(async id => startPeer(t, {id, dir: await shareDir(t, id), tracker: tracker.url, serve: true, args: ['--upload-limit', '600000']})));
		const dir = await shareDir(t);
		const me = await startPeer(t, {id: 'me', dir, tracker: tracker.url, args: [...args]});
		me.child.stdin.write('download song.mp3\n');
		await eventually(async () => ((await getJson(`${started[0]!.url}/load`)).body.load > 0 ? true : undefined));
		await writeFile(path.join(dir, 'song.mp3'), 'my own song');
		const result = JSON.parse(await me.stdout.next(line => line.startsWith('{"cmd"')));
		t.like(result, {cmd: 'download', ok: false, error: {code: 'ALREADY_HAVE'}});
		t.true(result.attempts.length > 0);
		t.true(result.attempts.every((attempt: {outcome: string}) => attempt.outcome === 'ok'), JSON.stringify(result.attempts));
		t.is(await readFile(path.join(dir, 'song.mp3'), 'utf8'), 'my own song');
	});
}
