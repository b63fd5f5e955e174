import {stat} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {holdersAt, loadsSettleAtZero, partialNames, shareDirNames} from '../helpers/faults.js';
import {eventually, shareDir, startPeer, startTracker} from '../helpers/processes.js';

test('a downloader killed mid-download leaves no file in the share dir, and its partial is removed at the next start', async t => {
	const tracker = await startTracker(t);
	// A sends the first 200000 bytes of song.mp3 and then holds the connection open: the download is surely in flight.
	const a = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true, args: ['--fault', 'stall-after=200000']});
	const meDir = await shareDir(t);
	const me = await startPeer(t, {id: 'me', dir: meDir, tracker: tracker.url});
	me.child.stdin.write('download song.mp3\n');

	const partial = await eventually(async () => {
		const [name] = await partialNames(meDir);
		return name !== undefined && (await stat(path.join(meDir, '.xfs', 'partial', name))).size === 200_000 ? name : undefined;
	});
	t.regex(partial, /^song\.mp3\.[\da-f]+\.part$/);
	await me.kill('SIGKILL');

	t.deepEqual(await shareDirNames(meDir), ['.xfs']);
	t.deepEqual(await partialNames(meDir), [partial]);
	// The sender notices the closed connection and stops counting the upload.
	t.deepEqual(await loadsSettleAtZero([a.url]), [0]);

	const again = await startPeer(t, {id: 'me', dir: meDir, tracker: tracker.url});
	t.is(await again.stderr.next(/unfinished download/), 'peer me: removed 1 unfinished download(s) from an earlier run');
	t.deepEqual(await partialNames(meDir), []);
	t.deepEqual(await shareDirNames(meDir), ['.xfs']);
	t.deepEqual(await again.run('ls'), {cmd: 'ls', ok: true, files: []});
	t.deepEqual(await holdersAt(tracker.url, 'song.mp3'), ['A']);
});
