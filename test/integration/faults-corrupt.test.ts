import {createHash} from 'node:crypto';
import {readFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {holdersAt, loadsSettleAtZero, partialNames, shareDirNames} from '../helpers/faults.js';
import {shareDir, startPeer, startTracker} from '../helpers/processes.js';

const songMd5 = 'd08e392ca9da2b83784f74b956b818de';

test('a corrupting holder is tried twice, then the next cheapest; only verified bytes reach the share dir', async t => {
	const tracker = await startTracker(t);
	const aDir = await shareDir(t, 'A');
	const bDir = await shareDir(t, 'B');
	const a = await startPeer(t, {id: 'A', dir: aDir, tracker: tracker.url, serve: true, args: ['--fault', 'corrupt=1']});
	const b = await startPeer(t, {id: 'B', dir: bDir, tracker: tracker.url, serve: true});
	const meDir = await shareDir(t);
	const me = await startPeer(t, {id: 'me', dir: meDir, tracker: tracker.url});

	// A is the cheapest holder of song.mp3 (150 ms against B's 600 ms) but flips a byte in every upload.
	const song = await me.run('download song.mp3');
	t.is(song.ok, true);
	t.is(song.from, 'B');
	t.is(song.md5, songMd5);
	t.deepEqual(song.attempts, [
		{peer: 'A', outcome: 'checksum-mismatch'},
		{peer: 'A', outcome: 'checksum-mismatch'},
		{peer: 'B', outcome: 'ok'},
	]);
	const saved = await readFile(path.join(meDir, 'song.mp3'));
	t.is(createHash('md5').update(saved).digest('hex'), songMd5);
	t.deepEqual(saved, await readFile(path.join(bDir, 'song.mp3')));

	// notes.md has one holder, and it corrupts: nothing is saved.
	const notes = await me.run('download notes.md');
	t.is(notes.ok, false);
	t.is(notes.error.code, 'CHECKSUM_MISMATCH');
	t.deepEqual(notes.attempts, [
		{peer: 'A', outcome: 'checksum-mismatch'},
		{peer: 'A', outcome: 'checksum-mismatch'},
	]);

	t.deepEqual(await shareDirNames(meDir), ['.xfs', 'song.mp3']);
	t.deepEqual(await partialNames(meDir), []);
	t.deepEqual(await holdersAt(tracker.url, 'song.mp3'), ['A', 'B', 'me']);
	t.deepEqual(await holdersAt(tracker.url, 'notes.md'), ['A']);
	t.deepEqual(await loadsSettleAtZero([a.url, b.url, me.url]), [0, 0, 0]);
});
