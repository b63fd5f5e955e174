import test from 'ava';
import {holdersAt, nextLogMessage} from '../helpers/faults.js';
import {eventually, getJson, shareDir, startPeer, startTracker} from '../helpers/processes.js';

/** Everything a tracker answers about the network, minus timing: GET /files, every Find, GET /peers. */
async function trackerView(trackerUrl: string) {
	const files = (await getJson(`${trackerUrl}/files`)).body.files as Array<{name: string}>;
	// The name record offered is its first publisher's; two peers that published the same content on their own may come back in either order.
	const finds = await Promise.all(files.map(async file => {
		const {owner, version, sig, ...found} = (await getJson(`${trackerUrl}/files/${file.name}`)).body;
		return found as unknown;
	}));
	const peers = ((await getJson(`${trackerUrl}/peers`)).body.peers as Array<{id: string; url: string; files: number}>)
		.map(({id, url, files}) => ({id, url, files}));
	return {files, finds, peers};
}

test('tracker kill -9 and a restart on the same port: every peer re-sends its list and Find answers what it did before', async t => {
	const tracker = await startTracker(t);
	const peers = await Promise.all(['A', 'B', 'C'].map(async id => startPeer(t, {id, dir: await shareDir(t, id), tracker: tracker.url, serve: true})));
	const before = await trackerView(tracker.url);
	t.deepEqual(before.peers.map(peer => peer.id), ['A', 'B', 'C']);
	t.deepEqual(before.files.map(file => file.name), ['data.csv', 'notes.md', 'paper.pdf', 'photo.jpg', 'readme.txt', 'song.mp3', 'tiny.txt']);
	const epochBefore = (await getJson(`${tracker.url}/health`)).body.epoch as string;

	await tracker.kill('SIGKILL');
	const restarted = await startTracker(t, ['--port', String(tracker.port)]);
	t.is(restarted.url, tracker.url);
	t.not((await getJson(`${restarted.url}/health`)).body.epoch, epochBefore);

	for (const peer of peers) {
		t.regex(await nextLogMessage(peer.stderr, /sent the whole list/), /^tracker restarted \(new epoch\): sent the whole list \(\d files\)$/);
	}

	t.deepEqual(await trackerView(restarted.url), before);
});

test('while the tracker is down: last known holders serve, an unknown name waits up to --tracker-wait, a waiting find completes when it returns', async t => {
	const tracker = await startTracker(t);
	await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true});
	await startPeer(t, {id: 'B', dir: await shareDir(t, 'B'), tracker: tracker.url, serve: true});
	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: tracker.url, args: ['--tracker-wait', '1500']});
	const patient = await startPeer(t, {id: 'C', dir: await shareDir(t), tracker: tracker.url});
	t.deepEqual((await me.run('find song.mp3')).peers.map((peer: any) => peer.id), ['A', 'B']);

	await tracker.kill('SIGKILL');

	const song = await me.run('download song.mp3');
	t.is(song.ok, true);
	t.deepEqual(song.attempts, [{peer: 'A', outcome: 'ok'}]);
	t.is(await me.stderr.next(/last known/), 'peer me: tracker down: using the last known holders of song.mp3 (A, B)');

	const readme = await me.run('find readme.txt');
	t.is(readme.ok, false);
	t.is(readme.error.code, 'TRACKER_DOWN');
	t.regex(readme.error.message, /still down after [\d.]+ s \(--tracker-wait 1500 ms\)$/);
	t.regex(await me.stderr.next(/find readme\.txt/), /^peer me: tracker down, retrying in [\d.]+ s \(find readme\.txt waits up to 1\.5 s\)$/);

	patient.child.stdin.write('find photo.jpg\n');
	t.regex(await patient.stderr.next(/find photo\.jpg/), /^peer C: tracker down, retrying in [\d.]+ s \(find photo\.jpg waits up to 60 s\)$/);
	// With a warm-up, C's waiting find is not answered NOT_FOUND before B has re-sent its list.
	const restarted = await startTracker(t, ['--port', String(tracker.port), '--warmup-ms', '30000']);
	const photo = JSON.parse(await patient.stdout.next(line => line.startsWith('{"cmd"'))) as Record<string, any>;
	t.is(photo.ok, true);
	t.deepEqual(photo.peers.map((peer: any) => peer.id), ['B']);

	// The file downloaded during the outage is announced once the tracker is back
	// (A, B and me re-send their lists on their own heartbeats, in any order).
	t.deepEqual(await eventually(async () => {
		const holders = await holdersAt(restarted.url, 'song.mp3');
		return holders.length === 3 ? holders : undefined;
	}), ['A', 'B', 'me']);
});

test('a restarted tracker warms up: a find of a held file waits (503 WARMING_UP) for its holder to re-send, not NOT_FOUND', async t => {
	const first = await startTracker(t);
	const a = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: first.url, serve: true});
	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: first.url});
	await first.kill('SIGKILL');
	// A cannot re-send its list until it is continued: a find now sees a tracker that knows nothing yet.
	a.child.kill('SIGSTOP');
	const second = await startTracker(t, ['--port', String(first.port), '--warmup-ms', '30000']);
	const early = await getJson(`${second.url}/files/song.mp3`);
	t.is(early.status, 503);
	t.is(early.body.error.code, 'WARMING_UP');
	// The peer notices the restart (its heartbeat gets known:false) and has re-sent its own list.
	await me.stderr.next(/sent the whole list/);
	me.child.stdin.write('find song.mp3\n');
	await me.stderr.next(/find song\.mp3 waits/);
	a.child.kill('SIGCONT');
	const result = JSON.parse(await me.stdout.next(line => line.startsWith('{"cmd"')));
	t.like(result, {cmd: 'find', ok: true, name: 'song.mp3'});
	t.deepEqual(result.peers.map((peer: {id: string}) => peer.id), ['A']);
});

test('after the warm-up a name nobody holds is NOT_FOUND; the reply during it carries Retry-After', async t => {
	const tracker = await startTracker(t, ['--warmup-ms', '1500']);
	const response = await fetch(`${tracker.url}/files/nobody.txt`);
	t.is(response.status, 503);
	// 1.5 s left at most, in whole seconds, rounded up.
	t.true(['1', '2'].includes(response.headers.get('retry-after') ?? ''));
	t.is((await eventually(async () => {
		const {status} = await getJson(`${tracker.url}/files/nobody.txt`);
		return status === 503 ? undefined : status;
	})), 404);
});
