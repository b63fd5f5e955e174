import test from 'ava';
import {eventually, getJson, shareDir, startPeer, startTracker} from '../helpers/processes.js';

test('a reader that goes away (| head -1): the peer stops writing, leaves the tracker and exits 141 without a stack trace', async t => {
	const tracker = await startTracker(t);
	await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true});
	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: tracker.url});
	t.like(await me.run('find song.mp3'), {cmd: 'find', ok: true});
	// The reader closes its end, as head does after its first line; the peer goes on writing results.
	me.child.stdout.destroy();
	for (let index = 0; index < 20; index++) {
		me.child.stdin.write('find song.mp3\n');
	}

	t.deepEqual(await me.exited, {code: 141, signal: null});
	t.false(me.stderr.lines.some(line => /EPIPE|Error|at /.test(line)), me.stderr.lines.join('\n'));
	t.deepEqual((await getJson(`${tracker.url}/peers`)).body.peers.map((peer: any) => peer.id), ['A']);
});

test('SIGTERM during a scripted download prints a cancelled result for it, leaves the tracker and exits 130', async t => {
	const tracker = await startTracker(t);
	// A stalls every upload after 1000 bytes: the download is still running when the signal comes.
	const a = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true, args: ['--fault', 'stall-after=1000']});
	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: tracker.url});
	me.child.stdin.write('download song.mp3\n');
	await eventually(async () => ((await getJson(`${a.url}/load`)).body.load === 1 ? true : undefined));
	me.child.kill('SIGTERM');
	const result = JSON.parse(await me.stdout.next(line => line.startsWith('{"cmd"')));
	t.like(result, {cmd: 'download', ok: false, error: {code: 'CANCELLED'}});
	t.regex(result.error.message, /SIGTERM/);
	t.deepEqual(await me.exited, {code: 130, signal: null});
	t.deepEqual((await getJson(`${tracker.url}/peers`)).body.peers.map((peer: any) => peer.id), ['A']);
});
