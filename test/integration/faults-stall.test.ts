import test from 'ava';
import {holdersAt, loadsSettleAtZero, partialNames, shareDirNames} from '../helpers/faults.js';
import {eventually, shareDir, startPeer, startTracker} from '../helpers/processes.js';
import {identityOfShare, signedRequest} from '../helpers/signed.js';

test('a holder that stops sending mid-file is abandoned for the next one; loads return to 0 on every side', async t => {
	const tracker = await startTracker(t);
	// A is the cheapest holder of song.mp3 and goes silent after 64 KiB, its socket still open.
	const a = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true, args: ['--fault', 'stall-after=65536']});
	const b = await startPeer(t, {id: 'B', dir: await shareDir(t, 'B'), tracker: tracker.url, serve: true});
	const meDir = await shareDir(t);
	const me = await startPeer(t, {id: 'me', dir: meDir, tracker: tracker.url});

	const song = await me.run('download song.mp3');
	t.is(song.ok, true);
	t.is(song.from, 'B');
	t.is(song.md5, 'd08e392ca9da2b83784f74b956b818de');
	t.deepEqual(song.attempts, [{peer: 'A', outcome: 'stalled'}, {peer: 'B', outcome: 'ok'}]);
	t.deepEqual(await shareDirNames(meDir), ['.xfs', 'song.mp3']);
	t.deepEqual(await partialNames(meDir), []);
	t.deepEqual(await loadsSettleAtZero([a.url, b.url, me.url]), [0, 0, 0]);

	// A stalled but still answers GetLoad: a suspect report about it is checked and A is kept.
	const report = await signedRequest(tracker.url, '/peers/A/suspect', {method: 'POST', identity: await identityOfShare(meDir)});
	t.deepEqual(JSON.parse(report.body.toString()), {dropped: false});
	t.deepEqual(await eventually(async () => {
		const holders = await holdersAt(tracker.url, 'song.mp3');
		return holders.includes('me') ? holders : undefined;
	}), ['A', 'B', 'me']);
});
