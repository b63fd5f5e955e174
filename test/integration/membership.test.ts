import test from 'ava';
import {eventually, getJson, shareDir, startPeer, startTracker} from '../helpers/processes.js';
import {identityOfShare, signedRequest} from '../helpers/signed.js';

const holdersOf = async (trackerUrl: string, name: string) => {
	const {status, body} = await getJson(`${trackerUrl}/files/${name}`);
	return status === 200 ? (body.peers as Array<{id: string}>).map(peer => peer.id) : [];
};

test('a peer started before the tracker registers once it appears', async t => {
	const probe = await startTracker(t);
	await probe.kill();
	const a = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: probe.url, serve: true});
	await a.stderr.next(/tracker/);
	const tracker = await startTracker(t, ['--port', String(probe.port)]);
	t.deepEqual(await eventually(async () => {
		const holders = await holdersOf(tracker.url, 'notes.md');
		return holders.length > 0 ? holders : undefined;
	}), ['A']);
});

test('a peer the tracker forgot (known:false) sends its whole list again', async t => {
	const tracker = await startTracker(t);
	const dir = await shareDir(t, 'A');
	await startPeer(t, {id: 'A', dir, tracker: tracker.url, serve: true});
	t.deepEqual(await holdersOf(tracker.url, 'song.mp3'), ['A']);
	// Forget the peer as an expiry would (a leave signed with A's own key); its next heartbeat is answered known:false.
	t.is((await signedRequest(tracker.url, '/peers/A', {method: 'DELETE', identity: await identityOfShare(dir)})).status, 204);
	t.deepEqual(await holdersOf(tracker.url, 'song.mp3'), []);
	t.deepEqual(await eventually(async () => {
		const {body} = await getJson(`${tracker.url}/files`);
		return body.files.length === 3 ? body.files.map((file: any) => file.name) : undefined;
	}), ['notes.md', 'readme.txt', 'song.mp3']);
});

test('a peer leaves the tracker on SIGTERM', async t => {
	const tracker = await startTracker(t);
	const a = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true});
	t.deepEqual((await getJson(`${tracker.url}/peers`)).body.peers.map((peer: any) => peer.id), ['A']);
	a.child.kill('SIGTERM');
	t.deepEqual(await a.exited, {code: 0, signal: null});
	t.deepEqual((await getJson(`${tracker.url}/peers`)).body.peers, []);
});

test('the scripted mode exits 0 when every command succeeded and 1 when one failed', async t => {
	const tracker = await startTracker(t);
	const good = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url});
	t.is((await good.run('ls')).ok, true);
	good.end();
	t.is((await good.exited).code, 0);
	const bad = await startPeer(t, {id: 'B', dir: await shareDir(t, 'B'), tracker: tracker.url});
	t.is((await bad.run('find nothing.here')).error.code, 'NOT_FOUND');
	t.is((await bad.run('ls')).ok, true);
	bad.end();
	t.is((await bad.exited).code, 1);
});
