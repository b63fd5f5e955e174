import test from 'ava';
import {createIdentity, identityText, signText} from '../../source/common/signing.js';
import {eventually, getJson, shareDir, startPeer, startTracker} from '../helpers/processes.js';
import {identityOfShare, signedRequest} from '../helpers/signed.js';

const md5 = 'e'.repeat(32);

async function peersAt(tracker: string): Promise<Array<{id: string; url: string; files: number}>> {
	return (await getJson(`${tracker}/peers`)).body.peers.map(({id, url, files}: {id: string; url: string; files: number}) => ({id, url, files}));
}

test('a stranger\'s UpdateList, incremental update, heartbeat and leave for A are refused, and A\'s list stays; also after a tracker restart', async t => {
	const tracker = await startTracker(t);
	const dir = await shareDir(t, 'A');
	const a = await startPeer(t, {id: 'A', dir, tracker: tracker.url, serve: true});
	const before = await peersAt(tracker.url);
	t.deepEqual(before, [{id: 'A', url: a.url, files: 3}]);
	const stranger = createIdentity();
	const attempts = async () => ({
		put: await signedRequest(tracker.url, '/peers/A', {method: 'PUT', identity: stranger, body: JSON.stringify({url: a.url, files: []})}),
		putElsewhere: await signedRequest(tracker.url, '/peers/A', {method: 'PUT', identity: stranger, body: JSON.stringify({url: 'http://127.0.0.1:9', files: []})}),
		patch: await signedRequest(tracker.url, '/peers/A/files', {method: 'PATCH', identity: stranger, body: JSON.stringify({from: 0, to: 1, remove: ['song.mp3']})}),
		heartbeat: await signedRequest(tracker.url, '/peers/A/heartbeat', {method: 'POST', identity: stranger}),
		leave: await signedRequest(tracker.url, '/peers/A', {method: 'DELETE', identity: stranger}),
		unsigned: await signedRequest(tracker.url, '/peers/A', {method: 'DELETE'}),
	});
	const check = async () => {
		const replies = await attempts();
		const statuses = Object.fromEntries(Object.entries(replies).map(([what, reply]) => [what, [reply.status, JSON.parse(reply.body.toString()).error.code]]));
		t.deepEqual(statuses, {
			put: [409, 'ID_IN_USE'], putElsewhere: [409, 'ID_IN_USE'], patch: [409, 'ID_IN_USE'], heartbeat: [409, 'ID_IN_USE'], leave: [409, 'ID_IN_USE'], unsigned: [401, 'UNAUTHORIZED'],
		});
		t.deepEqual(await peersAt(tracker.url), [{id: 'A', url: a.url, files: 3}]);
		t.deepEqual((await getJson(`${tracker.url}/files/song.mp3`)).body.peers, [{id: 'A', url: a.url}]);
	};

	await check();
	// A's own key may: its heartbeat goes through.
	t.is((await signedRequest(tracker.url, '/peers/A/heartbeat', {method: 'POST', identity: await identityOfShare(dir)})).status, 200);

	// Soft state: after a restart the binding comes back from A itself (its next heartbeat re-sends its list).
	await tracker.kill();
	const again = await startTracker(t, ['--port', String(tracker.port)]);
	await eventually(async () => ((await peersAt(again.url)).length === 1 ? true : undefined));
	await check();
});

test('nobody registers someone else\'s URL: a claim whose URL answers the challenge with another key is not offered', async t => {
	const tracker = await startTracker(t);
	const a = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true});
	const stranger = createIdentity();
	const claim = await signedRequest(tracker.url, '/peers/X', {method: 'PUT', identity: stranger, body: JSON.stringify({url: a.url, files: [{name: 'fake.txt', md5, size: 1}]})});
	t.is(claim.status, 200);
	t.is((await getJson(`${tracker.url}/files/fake.txt`)).status, 404);
	// And the heartbeat reply tells the claimant so.
	const beat = await signedRequest(tracker.url, '/peers/X/heartbeat', {method: 'POST', identity: stranger});
	t.like(JSON.parse(beat.body.toString()), {known: true, reachable: false});
	// A's answer to a challenge is A's key, signed over the challenge.
	const challenge = 'ab'.repeat(16);
	const identity = await getJson(`${a.url}/identity?challenge=${challenge}`);
	t.is(identity.body.signature.length, 86);
	t.not(identity.body.signature, signText(stranger, identityText('A', challenge)));
	t.is((await getJson(`${a.url}/identity?challenge=zz`)).status, 400);
});

test('a paused peer whose machID was taken over says so when it resumes, and gets it back once the other is gone; the dead URL is not kept alive', async t => {
	const tracker = await startTracker(t, ['--ttl-ms', '3000']);
	const first = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true});
	first.child.kill('SIGSTOP');
	t.teardown(() => first.child.kill('SIGCONT'));
	// The second process with the same --id (another share dir, so another key) finds the holder silent and takes the id.
	const second = await startPeer(t, {id: 'A', dir: await shareDir(t, 'B'), tracker: tracker.url, serve: true});
	t.deepEqual(await peersAt(tracker.url), [{id: 'A', url: second.url, files: 3}]);
	first.child.kill('SIGCONT');
	const said = await first.stderr.next(/machID A was taken over by another peer/);
	t.regex(said, /it asks for A back at each heartbeat and gets it once that peer is gone/);
	// The resumed peer's heartbeats do not keep the other's record alive, nor change it.
	t.deepEqual(await peersAt(tracker.url), [{id: 'A', url: second.url, files: 3}]);
	await second.kill();
	await first.stderr.next(/machID A is this peer's again/);
	t.deepEqual(await peersAt(tracker.url), [{id: 'A', url: first.url, files: 3}]);
});
