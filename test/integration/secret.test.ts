import {writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {startTracker as startTrackerInProcess} from '../../tracker/server.js';
import {rawRequest, startPeerApp, tempDir} from '../helpers/peer-app.js';
import {getJson, shareDir, startPeer, startTracker} from '../helpers/processes.js';

const md5 = 'd'.repeat(32);

test('with a secret, tracker writes need the bearer token; reads stay open', async t => {
	const tracker = await startTrackerInProcess({port: 0, warmupMs: 0, probeOnJoin: false, secret: 's3cret'});
	t.teardown(async () => tracker.close());
	const body = JSON.stringify({url: 'http://127.0.0.1:9', files: [{name: 'x', md5, size: 1}]});
	const json = {'content-type': 'application/json'};
	const without = await rawRequest(tracker.url, '/peers/A', {method: 'PUT', headers: json, body});
	t.is(without.status, 401);
	t.deepEqual(JSON.parse(without.body.toString()), {error: {code: 'UNAUTHORIZED', message: 'this network needs the shared secret (--secret / XFS_SECRET)'}});
	t.is((await rawRequest(tracker.url, '/peers/A', {method: 'PUT', headers: {...json, authorization: 'Bearer wrong'}, body})).status, 401);
	t.is((await rawRequest(tracker.url, '/peers/A', {method: 'PUT', headers: {...json, authorization: 'Bearer s3cret'}, body})).status, 200);
	t.is((await rawRequest(tracker.url, '/peers/A', {method: 'DELETE'})).status, 401);
	t.is((await rawRequest(tracker.url, '/peers/A/heartbeat', {method: 'POST'})).status, 401);
	t.is((await rawRequest(tracker.url, '/files/x')).status, 200);
	t.is(tracker.state.peerCount, 1);
});

test('with a secret, downloads need it; GET /load stays open', async t => {
	const dir = await tempDir(t);
	await writeFile(path.join(dir, 'a.txt'), 'abc');
	const {url} = await startPeerApp(t, dir, {secret: 'k'});
	t.is((await rawRequest(url, '/files/a.txt')).status, 401);
	t.is((await rawRequest(url, '/files/a.txt', {headers: {authorization: 'Bearer k'}})).body.toString(), 'abc');
	t.is((await rawRequest(url, '/load')).status, 200);
});

test('peers that share the secret work as usual; a peer without it cannot join or download', async t => {
	const tracker = await startTracker(t, ['--secret', 'tango']);
	await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true, env: {XFS_SECRET: 'tango'}});
	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: tracker.url, args: ['--secret', 'tango']});
	t.is((await me.run('download notes.md')).ok, true);

	const outsider = await startPeer(t, {id: 'X', dir: await shareDir(t, 'E'), tracker: tracker.url});
	t.is((await outsider.run('updatelist')).error.code, 'UNAUTHORIZED');
	t.deepEqual((await getJson(`${tracker.url}/peers`)).body.peers.map((peer: any) => peer.id), ['A', 'me']);
	const refused = await outsider.run('download song.mp3');
	t.is(refused.ok, false);
	// A refusal is not retried: the outsider learns at once, without waiting out --peer-wait.
	t.is(refused.error.code, 'ALL_PEERS_DOWN');
	t.deepEqual(refused.attempts, [{peer: 'A', outcome: 'refused'}]);
	// The secret never appears in any output of the peers or the tracker.
	for (const line of [...tracker.stderr.lines, ...tracker.stdout.lines, ...me.stdout.lines, ...me.stderr.lines]) {
		t.false(line.includes('tango'));
	}
});

test('an UpdateList of 100 000 files fits; one more file is 413', async t => {
	const tracker = await startTrackerInProcess({port: 0, warmupMs: 0, probeOnJoin: false});
	t.teardown(async () => tracker.close());
	const files = Array.from({length: 100_000}, (_, index) => ({name: `file-${String(index).padStart(6, '0')}.bin`, md5, size: index}));
	const put = async (list: unknown[]) => rawRequest(tracker.url, '/peers/big', {method: 'PUT', headers: {'content-type': 'application/json'}, body: JSON.stringify({url: 'http://127.0.0.1:9', files: list})});
	t.is((await put(files)).status, 200);
	t.is(tracker.state.fileCount, 100_000);
	const over = await put([...files, {name: 'one-more', md5, size: 1}]);
	t.is(over.status, 413);
	t.is(JSON.parse(over.body.toString()).error.code, 'TOO_LARGE');
	t.is(tracker.state.fileCount, 100_000);
});
