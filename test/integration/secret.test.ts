import {createHash} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import path from 'node:path';
import test from 'ava';
import {startTracker as startTrackerInProcess} from '../../tracker/server.js';
import {rawRequest, startPeerApp, tempDir} from '../helpers/peer-app.js';
import {createIdentity, identityText, signRequest, signText} from '../../source/common/signing.js';
import {eventually, getJson, shareDir, startPeer, startTracker} from '../helpers/processes.js';
import {signedRequest} from '../helpers/signed.js';

const md5 = 'd'.repeat(32);
const secret = 's3cret-words';

test('with a secret, tracker writes need its MAC (the bearer secret itself is refused); reads stay open', async t => {
	const tracker = await startTrackerInProcess({port: 0, warmupMs: 0, probeOnJoin: false, secret: 's3cret'});
	t.teardown(async () => tracker.close());
	const identity = createIdentity();
	const body = JSON.stringify({url: 'http://127.0.0.1:9', files: [{name: 'x', md5, size: 1}]});
	const without = await signedRequest(tracker.url, '/peers/A', {method: 'PUT', body, identity});
	t.is(without.status, 401);
	t.deepEqual(JSON.parse(without.body.toString()), {error: {code: 'UNAUTHORIZED', message: 'this network needs the shared secret (--secret / XFS_SECRET)'}});
	t.is((await signedRequest(tracker.url, '/peers/A', {method: 'PUT', body, identity, headers: {authorization: 'Bearer s3cret'}})).status, 401);
	t.is((await signedRequest(tracker.url, '/peers/A', {method: 'PUT', body, identity, secret: 'wrong'})).status, 401);
	t.is((await signedRequest(tracker.url, '/peers/A', {method: 'PUT', body, identity, secret: 's3cret'})).status, 200);
	t.is((await signedRequest(tracker.url, '/peers/A', {method: 'DELETE', identity})).status, 401);
	t.is((await signedRequest(tracker.url, '/peers/A/heartbeat', {method: 'POST', identity})).status, 401);
	t.is((await rawRequest(tracker.url, '/files/x')).status, 200);
	t.is(tracker.state.peerCount, 1);
	t.like(JSON.parse((await rawRequest(tracker.url, '/health')).body.toString()), {secured: true});
});

test('with a secret, downloads need its MAC; GET /load stays open', async t => {
	const dir = await tempDir(t);
	await writeFile(path.join(dir, 'a.txt'), 'abc');
	const {url} = await startPeerApp(t, dir, {secret: 'k'});
	t.is((await rawRequest(url, '/files/a.txt')).status, 401);
	t.is((await rawRequest(url, '/files/a.txt', {headers: {authorization: 'Bearer k'}})).status, 401);
	t.is((await signedRequest(url, '/files/a.txt', {secret: 'k'})).body.toString(), 'abc');
	t.is((await signedRequest(url, '/files/a.txt', {secret: 'other'})).status, 401);
	t.is((await rawRequest(url, '/load')).status, 200);
});

test('a signed request is accepted once: the same signature again is a replay', async t => {
	const tracker = await startTrackerInProcess({port: 0, warmupMs: 0, probeOnJoin: false, secret: 's3cret'});
	t.teardown(async () => tracker.close());
	const identity = createIdentity();
	const body = JSON.stringify({url: 'http://127.0.0.1:9', files: []});
	const headers = {'content-type': 'application/json', ...signRequest({method: 'PUT', path: '/peers/A', body}, {identity, secret: 's3cret'})};
	t.is((await rawRequest(tracker.url, '/peers/A', {method: 'PUT', headers, body})).status, 200);
	const replay = await rawRequest(tracker.url, '/peers/A', {method: 'PUT', headers, body});
	t.is(replay.status, 401);
	t.is(JSON.parse(replay.body.toString()).error.message, 'the request was replayed (its signature was seen already)');
	// One signed an hour ago is refused by its timestamp, whatever the cache holds.
	const old = {'content-type': 'application/json', ...signRequest({method: 'PUT', path: '/peers/A', body, time: Date.now() - 3_600_000}, {identity, secret: 's3cret'})};
	t.regex(JSON.parse((await rawRequest(tracker.url, '/peers/A', {method: 'PUT', headers: old, body})).body.toString()).error.message, /timestamp is 36\d\d s off/);
});

test('a holder that logs everything it is sent never sees the secret, nor anything that reveals it', async t => {
	// A generous challenge timeout: on a busy machine the holder must still be found reachable.
	const tracker = await startTrackerInProcess({port: 0, warmupMs: 0, probeTimeoutMs: 20_000});
	t.teardown(async () => tracker.close());
	// The stranger registers a holder of "bait.txt" at its own logging server, and answers the challenge with its own key.
	const stranger = createIdentity();
	const seen: string[] = [];
	const content = 'bait';
	const logging = http.createServer((request, response) => {
		const chunks: Buffer[] = [];
		request.on('data', (chunk: Buffer) => chunks.push(chunk));
		request.on('end', () => {
			seen.push(`${request.method!} ${request.url!}\n${JSON.stringify(request.rawHeaders)}\n${Buffer.concat(chunks).toString('latin1')}`);
			const challenge = new URL(request.url!, 'http://x').searchParams.get('challenge');
			if (challenge) {
				response.setHeader('content-type', 'application/json');
				response.end(JSON.stringify({id: 'S', key: stranger.publicKey, signature: signText(stranger, identityText('S', challenge))}));
				return;
			}

			if (request.url!.startsWith('/load')) {
				response.setHeader('content-type', 'application/json');
				response.end(JSON.stringify({id: 'S', load: 0}));
				return;
			}

			response.end(content);
		});
	});
	await new Promise<void>(resolve => {
		logging.listen(0, '127.0.0.1', resolve);
	});
	t.teardown(() => logging.close());
	const url = `http://127.0.0.1:${(logging.address() as AddressInfo).port}`;
	const list = JSON.stringify({url, files: [{name: 'bait.txt', md5: createHash('md5').update(content).digest('hex'), size: content.length}]});
	t.is((await signedRequest(tracker.url, '/peers/S', {method: 'PUT', body: list, identity: stranger})).status, 200);
	t.true(tracker.state.isReachable('S'));

	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: tracker.url, args: ['--secret', secret]});
	t.like(await me.run('download bait.txt'), {ok: true, from: 'S'});
	t.true(seen.some(line => line.startsWith('GET /files/bait.txt')));
	const revealing = [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('hex'), createHash('sha256').update(secret).digest('hex'), createHash('md5').update(secret).digest('hex'), 'Bearer'];
	for (const line of seen) {
		for (const text of revealing) {
			t.false(line.toLowerCase().includes(text.toLowerCase()), `${text} in ${line}`);
		}
	}
});

test('a tracker without --secret and peers with one (or the reverse) is a mismatch both sides name', async t => {
	const open = await startTracker(t);
	const a = await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: open.url, args: ['--secret', secret]});
	t.true(await eventually(() => (a.stderr.lines.some(line => line.includes(`this peer has a --secret but the tracker ${open.url} takes none: a mismatch`)) ? true : undefined)));
	t.true(await eventually(() => (open.stderr.lines.some(line => line.includes('signs with a --secret but this tracker has none: a mismatch')) ? true : undefined)));

	const closed = await startTracker(t, ['--secret', secret]);
	const b = await startPeer(t, {id: 'B', dir: await shareDir(t, 'B'), tracker: closed.url});
	t.true(await eventually(() => (b.stderr.lines.some(line => line.includes(`the tracker ${closed.url} needs a --secret and this peer has none: a mismatch`)) ? true : undefined)));
	t.true(await eventually(() => (closed.stderr.lines.some(line => line.includes('this network needs the shared secret')) ? true : undefined)));
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
	const identity = createIdentity();
	const put = async (list: unknown[]) => signedRequest(tracker.url, '/peers/big', {method: 'PUT', identity, body: JSON.stringify({url: 'http://127.0.0.1:9', files: list})});
	t.is((await put(files)).status, 200);
	t.is(tracker.state.fileCount, 100_000);
	const over = await put([...files, {name: 'one-more', md5, size: 1}]);
	t.is(over.status, 413);
	t.is(JSON.parse(over.body.toString()).error.code, 'TOO_LARGE');
	t.is(tracker.state.fileCount, 100_000);
});
