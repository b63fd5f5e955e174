import {stat, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {holdersAt, loadsSettleAtZero, partialNames, peerIdsAt, shareDirNames} from '../helpers/faults.js';
import {eventually, shareDir, startPeer, startTracker} from '../helpers/processes.js';

/** Waits until the tracker no longer lists `id`; resolves with the peers it still lists. */
async function trackerDropped(trackerUrl: string, id: string): Promise<string[]> {
	return eventually(async () => {
		const ids = await peerIdsAt(trackerUrl);
		return ids.includes(id) ? undefined : ids;
	});
}

test('a holder killed mid-transfer or before is skipped for the next cheapest, reported and dropped; restarted, it rejoins with its current list', async t => {
	// A long TTL: only the downloader's suspect report can drop a dead peer within this test.
	const tracker = await startTracker(t, ['--ttl-ms', '60000']);
	const aDir = await shareDir(t, 'A');
	const a = await startPeer(t, {id: 'A', dir: aDir, tracker: tracker.url, serve: true, args: ['--fault', 'stall-after=200000']});
	const b = await startPeer(t, {id: 'B', dir: await shareDir(t, 'B'), tracker: tracker.url, serve: true});
	const meDir = await shareDir(t);
	const me = await startPeer(t, {id: 'me', dir: meDir, tracker: tracker.url, args: ['--peer-wait', '2000']});

	// Killed mid-transfer: A (150 ms from me, the cheapest) has sent part of song.mp3 when it dies.
	me.child.stdin.write('download song.mp3\n');
	await eventually(async () => {
		const [name] = await partialNames(meDir);
		return name !== undefined && (await stat(path.join(meDir, '.xfs', 'partial', name))).size === 200_000 ? true : undefined;
	});
	await a.kill('SIGKILL');
	const song = JSON.parse(await me.stdout.next(line => line.startsWith('{"cmd"'))) as Record<string, any>;
	t.is(song.ok, true);
	t.is(song.from, 'B');
	t.deepEqual(song.attempts, [{peer: 'A', outcome: 'dropped'}, {peer: 'B', outcome: 'ok'}]);
	t.deepEqual(await trackerDropped(tracker.url, 'A'), ['B', 'me']);

	// Restarted with a file added meanwhile: it rejoins with its current list.
	await writeFile(path.join(aDir, 'extra.txt'), 'added while A was down\n');
	const again = await startPeer(t, {id: 'A', dir: aDir, tracker: tracker.url, serve: true});
	t.deepEqual(await holdersAt(tracker.url, 'extra.txt'), ['A']);
	t.deepEqual(await holdersAt(tracker.url, 'song.mp3'), ['A', 'B', 'me']);

	// Killed while idle: GetLoad is refused, the download goes on to B.
	await again.kill('SIGKILL');
	const readme = await me.run('download readme.txt');
	t.is(readme.ok, true);
	t.deepEqual(readme.attempts, [{peer: 'A', outcome: 'down'}, {peer: 'B', outcome: 'ok'}]);
	t.deepEqual(await trackerDropped(tracker.url, 'A'), ['B', 'me']);
	t.deepEqual(await loadsSettleAtZero([b.url, me.url]), [0, 0]);

	// Every holder down: retried with back-off until --peer-wait, then ALL_PEERS_DOWN (not NOT_FOUND, although the tracker drops B meanwhile).
	await b.kill('SIGKILL');
	const photo = await me.run('download photo.jpg');
	t.is(photo.ok, false);
	t.is(photo.error.code, 'ALL_PEERS_DOWN');
	t.deepEqual(photo.attempts[0], {peer: 'B', outcome: 'down'});
	t.true(photo.attempts.every((attempt: any) => attempt.peer === 'B' && attempt.outcome === 'down'));
	t.is(await me.stderr.next(/download photo\.jpg/), 'peer me: download photo.jpg: every holder failed, retrying in 0.5 s (waits up to 2 s)');
	t.deepEqual(await shareDirNames(meDir), ['.xfs', 'readme.txt', 'song.mp3']);
	t.deepEqual(await partialNames(meDir), []);
});

test('the tracker drops a peer that stopped heartbeating after --ttl-ms; a file nobody holds is then NOT_FOUND at once', async t => {
	const tracker = await startTracker(t, ['--ttl-ms', '1000']);
	const a = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true});
	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: tracker.url});
	t.deepEqual((await me.run('find notes.md')).peers.map((peer: any) => peer.id), ['A']);

	await a.kill('SIGKILL');
	t.deepEqual(await trackerDropped(tracker.url, 'A'), ['me']);

	const notes = await me.run('download notes.md');
	t.is(notes.ok, false);
	t.is(notes.error.code, 'NOT_FOUND');
	t.deepEqual(notes.attempts, []);
	t.deepEqual(me.stderr.lines.filter(line => line.includes('notes.md')), []);
});
