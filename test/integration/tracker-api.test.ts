import http from 'node:http';
import test from 'ava';
import {pino} from 'pino';
import {startTracker} from '../../tracker/server.js';
import {TrackerClient} from '../../source/clients/tracker-client.js';
import {completeSession, createIdentity, createSessionOffer, identityText, signRequest, signText} from '../../source/common/signing.js';
import {rawRequest} from '../helpers/peer-app.js';
import {eventually} from '../helpers/processes.js';
import {keyRing, signedRequest} from '../helpers/signed.js';

const md5 = 'c'.repeat(32);

async function withTracker(t: any, options: Parameters<typeof startTracker>[0] = {}) {
	const tracker = await startTracker({port: 0, warmupMs: 0, probeOnJoin: false, ttlMs: 60_000, ...options});
	t.teardown(async () => tracker.close());
	// Each pretend peer signs its writes with a key of its own (named by the id in the path).
	const keyOf = keyRing();
	const call = async (method: string, path: string, body?: unknown, raw?: string) => {
		const id = /^\/peers\/([^/]+)/.exec(path)?.[1] ?? 'nobody';
		const response = await signedRequest(tracker.url, path, {method, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)), identity: keyOf(id)});
		const text = response.body.toString();
		return {status: response.status, body: text ? JSON.parse(text) : undefined};
	};

	// node:http sends the path as written; fetch would normalise %2e%2e away.
	const rawGet = async (path: string) => new Promise<number>((resolve, reject) => {
		const {hostname, port} = new URL(tracker.url);
		http.get({hostname, port, path}, response => {
			response.resume();
			resolve(response.statusCode!);
		}).on('error', reject);
	});
	return {tracker, call, rawGet, keyOf};
}

const list = {url: 'http://127.0.0.1:9001', files: [{name: 'a.txt', md5, size: 5}]};

test('UpdateList, Find, files, peers, heartbeat, health and leave', async t => {
	const {tracker, call} = await withTracker(t);
	const put = await call('PUT', '/peers/A', list);
	t.deepEqual(put, {status: 200, body: {epoch: tracker.state.epoch, ttlMs: 60_000, version: 0}});
	t.deepEqual(await call('GET', '/files/a.txt'), {status: 200, body: {name: 'a.txt', md5, size: 5, peers: [{id: 'A', url: 'http://127.0.0.1:9001'}]}});
	t.deepEqual(await call('GET', '/files'), {status: 200, body: {files: [{name: 'a.txt', md5, size: 5, holders: 1}]}});
	t.deepEqual((await call('GET', '/peers')).body.peers.map((peer: any) => [peer.id, peer.url, peer.files]), [['A', 'http://127.0.0.1:9001', 1]]);
	t.deepEqual(await call('POST', '/peers/A/heartbeat'), {status: 200, body: {epoch: tracker.state.epoch, known: true}});
	t.deepEqual(await call('POST', '/peers/B/heartbeat'), {status: 200, body: {epoch: tracker.state.epoch, known: false}});
	t.deepEqual(await call('GET', '/health'), {status: 200, body: {ok: true, epoch: tracker.state.epoch, peers: 1, files: 1, secured: false}});
	t.is((await call('DELETE', '/peers/A')).status, 204);
	t.is((await call('GET', '/files/a.txt')).body.error.code, 'NOT_FOUND');
	t.deepEqual(await call('DELETE', '/peers/A'), {status: 404, body: {error: {code: 'NOT_FOUND', message: 'no peer "A"'}}});
});

const badBodies: Array<[string, unknown, string]> = [
	['not an object', [1, 2], 'body: expected a JSON object'],
	['no url', {files: []}, 'body.url: expected an http(s) URL string'],
	['a file: URL', {url: 'file:///etc', files: []}, 'body.url: expected http: or https:, got file:'],
	['files not an array', {url: 'http://h:1', files: 'x'}, 'body.files: expected an array of {name, md5, size}'],
	['a traversal name', {url: 'http://h:1', files: [{name: '../x', md5, size: 1}]}, 'invalid body.files[0].name "../x": use 1-255 of [A-Za-z0-9._-], not starting with "."'],
	['a hidden name', {url: 'http://h:1', files: [{name: '.xfs', md5, size: 1}]}, 'invalid body.files[0].name ".xfs": a name with a leading "." is hidden, never shared'],
	['a dot-dot name', {url: 'http://h:1', files: [{name: '..', md5, size: 1}]}, 'invalid body.files[0].name "..": use 1-255 of [A-Za-z0-9._-], not starting with "."'],
	['a 256-char name', {url: 'http://h:1', files: [{name: 'n'.repeat(256), md5, size: 1}]}, `invalid body.files[0].name "${'n'.repeat(40)}…": use 1-255 of [A-Za-z0-9._-], not starting with "."`],
	['a bad md5', {url: 'http://h:1', files: [{name: 'x', md5: 'XYZ', size: 1}]}, 'body.files[0].md5: expected 32 lowercase hex digits, got "XYZ"'],
	['a negative size', {url: 'http://h:1', files: [{name: 'x', md5, size: -1}]}, 'body.files[0].size: expected a whole number of bytes >= 0, got -1'],
	['a string size', {url: 'http://h:1', files: [{name: 'x', md5, size: '1'}]}, 'body.files[0].size: expected a whole number of bytes >= 0, got "1"'],
	['a duplicate name', {url: 'http://h:1', files: [{name: 'x', md5, size: 1}, {name: 'x', md5, size: 1}]}, 'body.files[1].name: "x" is listed twice'],
	['a duplicate name, apart', {url: 'http://h:1', files: [{name: 'b', md5, size: 1}, {name: 'a', md5, size: 1}, {name: 'b', md5, size: 2}]}, 'body.files[2].name: "b" is listed twice'],
	['a bad entry after a good one', {url: 'http://h:1', files: [{name: 'a', md5, size: 1}, null]}, 'body.files[1]: expected a JSON object'],
];

test('UpdateList takes a list in any order, with extra fields left out', async t => {
	const {call} = await withTracker(t);
	const files = [{name: 'c.txt', md5, size: 3, note: 'x'}, {name: 'a.txt', md5, size: 1}, {name: 'b.txt', md5, size: 2}];
	t.is((await call('PUT', '/peers/A', {url: 'http://127.0.0.1:9001', files})).status, 200);
	t.deepEqual((await call('GET', '/files')).body.files, [
		{name: 'a.txt', md5, size: 1, holders: 1}, {name: 'b.txt', md5, size: 2, holders: 1}, {name: 'c.txt', md5, size: 3, holders: 1},
	]);
	t.deepEqual((await call('GET', '/files/c.txt')).body, {name: 'c.txt', md5, size: 3, peers: [{id: 'A', url: 'http://127.0.0.1:9001'}]});
});

for (const [what, body, message] of badBodies) {
	test(`UpdateList with ${what} is a 400 BAD_INPUT and changes nothing`, async t => {
		const {call} = await withTracker(t);
		await call('PUT', '/peers/A', list);
		t.deepEqual(await call('PUT', '/peers/A', body), {status: 400, body: {error: {code: 'BAD_INPUT', message}}});
		t.deepEqual((await call('GET', '/files')).body.files.map((file: any) => file.name), ['a.txt']);
	});
}

test('malformed JSON is a 400 and the tracker keeps serving', async t => {
	const {call} = await withTracker(t);
	t.deepEqual(await call('PUT', '/peers/A', undefined, '{"url": '), {status: 400, body: {error: {code: 'BAD_INPUT', message: 'malformed JSON body'}}});
	t.is((await call('GET', '/health')).status, 200);
});

test('invalid peer ids and file names in the path are 400', async t => {
	const {call, rawGet} = await withTracker(t);
	t.is((await call('PUT', `/peers/${'x'.repeat(65)}`, list)).body.error.code, 'BAD_INPUT');
	t.is((await call('POST', '/peers/a%2Fb/heartbeat')).status, 400);
	t.is(await rawGet('/files/%2e%2e'), 400);
	t.is(await rawGet('/files/a%2Fb'), 400);
	t.is(await rawGet('/files/a%00b'), 400);
	t.is(await rawGet('/files/%E0%A4%A'), 400);
});

test('unknown routes and ids are 404 JSON', async t => {
	const {tracker, call, keyOf} = await withTracker(t);
	t.deepEqual(await call('GET', '/nope'), {status: 404, body: {error: {code: 'NOT_FOUND', message: 'no route GET /nope'}}});
	// A report comes from a registered peer (R); a stranger's is refused before anything is probed.
	await call('PUT', '/peers/R', list);
	const report = async (as: string) => signedRequest(tracker.url, '/peers/ghost/suspect', {method: 'POST', identity: keyOf(as)});
	t.deepEqual(JSON.parse((await report('R')).body.toString()), {error: {code: 'NOT_FOUND', message: 'no peer "ghost"'}});
	t.is((await report('stranger')).status, 401);
});

test('a body over the limit is 413 TOO_LARGE', async t => {
	const {call} = await withTracker(t, {bodyLimit: '1kb'});
	const files = Array.from({length: 50}, (_, index) => ({name: `f${index}`, md5, size: 1}));
	t.deepEqual(await call('PUT', '/peers/A', {url: 'http://h:1', files}), {status: 413, body: {error: {code: 'TOO_LARGE', message: 'request body too large'}}});
});

test('an id held by a live peer at another URL is 409 ID_IN_USE', async t => {
	// A generous probe timeout: on a busy machine the live holder must not pass for dead.
	const {tracker, call, keyOf} = await withTracker(t, {probeTimeoutMs: 20_000});
	// The first holder answers the tracker's challenge as "A", with A's key: it is alive, so the newcomer is refused.
	const holder = http.createServer((request, response) => {
		const challenge = new URL(request.url!, 'http://x').searchParams.get('challenge') ?? '';
		response.setHeader('content-type', 'application/json');
		response.end(JSON.stringify({id: 'A', key: keyOf('A').publicKey, signature: signText(keyOf('A'), identityText('A', challenge))}));
	});
	await new Promise<void>(resolve => {
		holder.listen(0, '127.0.0.1', resolve);
	});
	t.teardown(() => holder.close());
	const holderUrl = `http://127.0.0.1:${(holder.address() as any).port}`;
	await call('PUT', '/peers/A', {url: holderUrl, files: []});
	const refused = await call('PUT', '/peers/A', {url: 'http://127.0.0.1:1', files: []});
	t.is(refused.status, 409);
	t.is(refused.body.error.code, 'ID_IN_USE');
	t.is(tracker.state.urlOf('A', Date.now()), holderUrl);
	// Once the holder is gone, a newcomer with the id takes its place (the holder is probed at most once a second).
	holder.close();
	holder.closeAllConnections();
	await eventually(async () => ((await call('PUT', '/peers/A', {url: 'http://127.0.0.1:1', files: []})).status === 200 ? true : undefined), {intervalMs: 250});
	t.is(tracker.state.urlOf('A', Date.now()), 'http://127.0.0.1:1');
});

/** GET with the path sent as written; the status, the headers that describe the reply, and the body. */
async function rawReply(url: string, path: string) {
	const {hostname, port} = new URL(url);
	return new Promise<{status: number; type?: string; length?: string; requestId?: string; body: string}>((resolve, reject) => {
		http.get({hostname, port, path}, response => {
			let body = '';
			response.setEncoding('utf8');
			response.on('data', (chunk: string) => {
				body += chunk;
			});
			response.once('end', () => {
				const {'content-type': type, 'content-length': length, 'x-request-id': requestId} = response.headers;
				resolve({status: response.statusCode!, type, length, requestId: requestId as string | undefined, body});
			});
		}).on('error', reject);
	});
}

test('a Find answered ahead of the router is the reply the router gives; the rest still goes through the router', async t => {
	const lines: string[] = [];
	const logger = pino({level: 'warn'}, {write: (line: string) => lines.push(line)});
	const {tracker, call} = await withTracker(t, {logger});
	await call('PUT', '/peers/A', list);
	// "a.txt" is answered ahead of the router; "a%2Etxt" must be decoded, so the router answers it.
	const fast = await rawReply(tracker.url, '/files/a.txt');
	const routed = await rawReply(tracker.url, '/files/a%2Etxt');
	t.is(fast.status, 200);
	t.deepEqual(JSON.parse(fast.body), {name: 'a.txt', md5, size: 5, peers: [{id: 'A', url: 'http://127.0.0.1:9001'}]});
	t.deepEqual({...fast, requestId: undefined}, {...routed, requestId: undefined});
	t.regex(fast.requestId!, /^\w+-\w+$/);
	t.regex(routed.requestId!, /^\w+-\w+$/);
	t.not(fast.requestId, routed.requestId);
	// A name nobody holds falls through to the router's 404, which is logged.
	t.is((await rawReply(tracker.url, '/files/b.txt')).status, 404);
	t.is(lines.length, 1);
	t.like(JSON.parse(lines[0]!), {status: 404, url: '/files/b.txt', msg: 'request refused'});
});

test('with debug request logs every Find goes through the router and is logged', async t => {
	const lines: string[] = [];
	const logger = pino({level: 'debug'}, {write: (line: string) => lines.push(line)});
	const {tracker, call} = await withTracker(t, {logger});
	await call('PUT', '/peers/A', list);
	t.is((await rawReply(tracker.url, '/files/a.txt')).status, 200);
	t.true(lines.some(line => line.includes('"url":"/files/a.txt"') && line.includes('"status":200')));
});

test('an incremental update changes only what it names, from the version the tracker holds; any other version is 409 VERSION_MISMATCH', async t => {
	const {tracker, call} = await withTracker(t);
	const md5b = 'b'.repeat(32);
	t.deepEqual((await call('PUT', '/peers/A', {...list, version: 7})).body, {epoch: tracker.state.epoch, ttlMs: 60_000, version: 7});
	t.deepEqual(await call('PATCH', '/peers/A/files', {from: 7, to: 8, add: [{name: 'b.txt', md5: md5b, size: 2}]}), {status: 200, body: {epoch: tracker.state.epoch, version: 8}});
	t.deepEqual((await call('GET', '/files')).body.files.map((file: any) => file.name), ['a.txt', 'b.txt']);
	t.deepEqual(await call('PATCH', '/peers/A/files', {from: 8, to: 9, add: [{name: 'b.txt', md5, size: 3}], remove: ['a.txt']}), {status: 200, body: {epoch: tracker.state.epoch, version: 9}});
	t.deepEqual((await call('GET', '/files')).body.files, [{name: 'b.txt', md5, size: 3, holders: 1}]);
	t.is((await call('GET', '/files/a.txt')).status, 404);
	// Lost (8 → 9 again), skipped ahead, or from a peer the tracker does not know: the peer must send the whole list.
	for (const [path, body] of [['/peers/A/files', {from: 8, to: 9, remove: ['b.txt']}], ['/peers/A/files', {from: 11, to: 12, remove: ['b.txt']}], ['/peers/B/files', {from: 0, to: 1, remove: ['x']}]] as const) {
		const reply = await call('PATCH', path, body);
		t.is(reply.status, 409, JSON.stringify(body));
		t.is(reply.body.error.code, 'VERSION_MISMATCH');
	}

	t.deepEqual((await call('GET', '/files')).body.files, [{name: 'b.txt', md5, size: 3, holders: 1}], 'refused updates change nothing');
	const bad = await call('PATCH', '/peers/A/files', {from: 9, to: 10, add: [{name: 'c', md5, size: 1}], remove: ['c']});
	t.deepEqual(bad, {status: 400, body: {error: {code: 'BAD_INPUT', message: 'body.remove[0]: "c" is changed twice in one update'}}});
	const tooMany = await call('PATCH', '/peers/A/files', {from: 9, to: 10, remove: Array.from({length: 1001}, (_, index) => `f${index}`)});
	t.is(tooMany.status, 413);
	t.is((await call('PATCH', '/peers/A/files', {from: 9, to: 9})).status, 400);
});

test('a session speaks only for its peer: set up by a signed registration, its MAC carries heartbeats and lists; a replay, a wrong key, another id or a restart are refused and change nothing', async t => {
	const {tracker, keyOf} = await withTracker(t);
	const list = (files: string[]) => JSON.stringify({url: 'http://127.0.0.1:9', files: files.map(name => ({name, md5, size: 1}))});
	const files = async () => (JSON.parse((await signedRequest(tracker.url, '/peers', {})).body.toString()) as {peers: Array<{id: string; files: number}>}).peers.map(({id, files}) => `${id} ${files}`).join(', ');
	const offer = createSessionOffer();
	const registered = await signedRequest(tracker.url, '/peers/A', {method: 'PUT', body: list(['a.bin']), identity: keyOf('A'), offer: offer.publicKey});
	t.is(registered.status, 200);
	const reply = JSON.parse(registered.body.toString()) as {session: {id: string; key: string}};
	t.regex(reply.session.id, /^[\da-f]{32}$/);
	const session = completeSession(offer, reply.session, 'A');
	t.false(registered.body.toString().includes(session.macKey.toString('hex')));

	// Through the session: a heartbeat, and the next list (the tracker's fast path).
	t.is((await signedRequest(tracker.url, '/peers/A/heartbeat', {method: 'POST', session})).status, 200);
	const next = await signedRequest(tracker.url, '/peers/A', {method: 'PUT', body: list(['a.bin', 'b.bin']), session});
	t.is(next.status, 200);
	t.true(tracker.state.find('b.bin', Date.now())?.peers.some(peer => peer.id === 'A'));

	// The same request again, byte for byte: a replay.
	const beat = signRequest({method: 'POST', path: '/peers/A/heartbeat'}, {session});
	t.is((await rawRequest(tracker.url, '/peers/A/heartbeat', {method: 'POST', headers: beat})).status, 200);
	const replayed = await rawRequest(tracker.url, '/peers/A/heartbeat', {method: 'POST', headers: beat});
	t.is(replayed.status, 401);
	t.regex(replayed.body.toString(), /replayed/);
	const before = await files();
	const replays = [
		// A MAC with a key that is not the session's (a stranger who saw its id).
		await signedRequest(tracker.url, '/peers/A', {method: 'PUT', body: list([]), session: {id: session.id, macKey: Buffer.alloc(32, 1)}}),
		await signedRequest(tracker.url, '/peers/A/heartbeat', {method: 'POST', session: {id: session.id, macKey: Buffer.alloc(32, 1)}}),
		// An unknown session.
		await signedRequest(tracker.url, '/peers/A', {method: 'PUT', body: list([]), session: {id: 'f'.repeat(32), macKey: session.macKey}}),
	];
	t.deepEqual(replays.map(({status}) => status), [401, 401, 401]);
	t.regex(replays[2]!.body.toString(), /unknown session/);
	t.is(await files(), before);
	// A's session for another id: the id is bound to another key.
	t.is((await signedRequest(tracker.url, '/peers/B', {method: 'PUT', body: list([]), identity: keyOf('B')})).status, 200);
	const beforeB = await files();
	t.is((await signedRequest(tracker.url, '/peers/B/files', {method: 'PATCH', body: JSON.stringify({from: 0, to: 1, add: [{name: 'evil.bin', md5, size: 1}], remove: []}), session})).status, 409);
	t.is((await signedRequest(tracker.url, '/peers/B/heartbeat', {method: 'POST', session})).status, 409);
	t.is((await signedRequest(tracker.url, '/peers/B', {method: 'DELETE', session})).status, 409);
	t.is(await files(), beforeB);
	t.is(tracker.state.find('evil.bin', Date.now()), undefined);
	t.is(before, 'A 2');

	// A restarted tracker knows no session: the peer is told to sign with its key.
	await tracker.close();
	const again = await startTracker({port: Number(new URL(tracker.url).port), warmupMs: 0, probeOnJoin: false, ttlMs: 60_000});
	t.teardown(async () => again.close());
	const after = await signedRequest(again.url, '/peers/A/heartbeat', {method: 'POST', session});
	t.is(after.status, 401);
	t.regex(after.body.toString(), /unknown session/);
});

test('a peer\'s tracker client sets up a session at its first UpdateList and speaks through it; after a tracker restart it signs with its key once, then has a new session', async t => {
	const tracker = await startTracker({port: 0, warmupMs: 0, probeOnJoin: false, ttlMs: 60_000});
	t.teardown(async () => tracker.close());
	const seen: string[] = [];
	const watch = (server: typeof tracker.server) => server.on('request', (request: http.IncomingMessage) => {
		seen.push(`${request.method!} ${request.url!} ${request.headers['x-xfs-session'] === undefined ? 'key' : 'session'}${request.headers['x-xfs-session-offer'] === undefined ? '' : '+offer'}`);
	});
	watch(tracker.server);
	const client = new TrackerClient(tracker.url, {identity: createIdentity()});
	const files = [{name: 'a.bin', md5, size: 1}];
	t.truthy((await client.updateList('P', 'http://127.0.0.1:9', files)).session);
	t.is((await client.updateList('P', 'http://127.0.0.1:9', files)).session, undefined);
	t.true((await client.heartbeat('P')).known);
	t.deepEqual(seen, ['PUT /peers/P key+offer', 'PUT /peers/P session', 'POST /peers/P/heartbeat session']);

	await tracker.close();
	const again = await startTracker({port: Number(new URL(tracker.url).port), warmupMs: 0, probeOnJoin: false, ttlMs: 60_000});
	t.teardown(async () => again.close());
	watch(again.server);
	seen.length = 0;
	// A keep-alive socket to the tracker that went away may fail once: asked again as the peer's membership would.
	const beat = async () => client.heartbeat('P').catch(async () => client.heartbeat('P'));
	t.false((await beat()).known);
	await client.updateList('P', 'http://127.0.0.1:9', files);
	t.true((await client.heartbeat('P')).known);
	t.deepEqual(seen, ['POST /peers/P/heartbeat session', 'POST /peers/P/heartbeat key', 'PUT /peers/P key+offer', 'POST /peers/P/heartbeat session']);
});
