import http from 'node:http';
import type {AddressInfo} from 'node:net';
import test from 'ava';
import {checkRequest} from '../../../source/common/signing.js';
import {BadInputError, PeerDownError, TrackerDownError, XfsError} from '../../../source/common/errors.js';
import {getLoad} from '../../../source/clients/peer-client.js';
import {SharedList} from '../../../source/share/shared-list.js';
import {TrackerClient} from '../../../source/clients/tracker-client.js';

/** A one-route server whose answer to GET /load the test decides. */
async function serve(t: {teardown: (fn: () => void) => void}, handler: http.RequestListener): Promise<string> {
	const server = http.createServer(handler);
	await new Promise<void>(resolve => {
		server.listen(0, '127.0.0.1', resolve);
	});
	t.teardown(() => {
		server.closeAllConnections();
		server.close();
	});
	return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('getLoad reads a well-formed reply', async t => {
	const url = await serve(t, (request, response) => {
		t.is(request.url, '/load');
		response.setHeader('content-type', 'application/json');
		response.end(JSON.stringify({id: 'B', load: 3}));
	});
	t.deepEqual(await getLoad(url), {id: 'B', load: 3});
});

test('getLoad: a holder that answers badly counts as down, naming the reason', async t => {
	const cases: Array<[string, http.RequestListener, RegExp]> = [
		['500', (_request, response) => {
			response.statusCode = 500;
			response.end('{}');
		}, /status 500/],
		['not JSON', (_request, response) => {
			response.end('<html>');
		}, /not JSON/],
		['too large', (_request, response) => {
			response.end(`{"id":"B","load":1,"pad":"${'x'.repeat(100_000)}"}`);
		}, /larger than/],
		['silent', () => {}, /timed out after 200 ms/],
	];
	for (const [what, handler, message] of cases) {
		const url = await serve(t, handler);
		// Only the silent holder is meant to time out: the others get time enough on a busy machine.
		const error = await t.throwsAsync(getLoad(url, {timeoutMs: what === 'silent' ? 200 : 2000}), {instanceOf: PeerDownError}, what);
		t.regex(error!.message, message, what);
	}

	await t.throwsAsync(getLoad('http://127.0.0.1:1', {timeoutMs: 200}), {instanceOf: PeerDownError, message: /ECONNREFUSED/});
});

test('getLoad: a reply of the wrong shape is bad input, not a dead peer', async t => {
	const url = await serve(t, (_request, response) => {
		response.end(JSON.stringify({id: 'B', load: -1}));
	});
	await t.throwsAsync(getLoad(url), {instanceOf: BadInputError, message: /reply\.load/});
});

test('the tracker client turns a 4xx into its error code and anything else into TRACKER_DOWN', async t => {
	const replies: Array<[number, string]> = [
		[409, JSON.stringify({error: {code: 'ID_IN_USE', message: 'A is in use at another address'}})],
		[404, '<html>not json</html>'],
		[503, '{}'],
		[200, 'not json'],
	];
	const url = await serve(t, (_request, response) => {
		const [status, body] = replies.shift()!;
		response.statusCode = status;
		response.end(body);
	});
	const client = new TrackerClient(url, {timeoutMs: 1000});
	await t.throwsAsync(client.find('a.txt'), {instanceOf: XfsError, message: 'A is in use at another address'});
	const notJson = await t.throwsAsync(client.find('a.txt'), {instanceOf: XfsError});
	t.is(notJson!.code, 'BAD_INPUT');
	t.regex(notJson!.message, /tracker answered 404 to GET \/files\/a\.txt/);
	await t.throwsAsync(client.find('a.txt'), {instanceOf: TrackerDownError, message: /status 503/});
	await t.throwsAsync(client.find('a.txt'), {instanceOf: TrackerDownError, message: /not JSON/});
});

test('the tracker client sends its JSON body and secret', async t => {
	let seen: {method?: string; type?: string; auth?: string; body?: unknown} = {};
	const url = await serve(t, async (request, response) => {
		const chunks: Buffer[] = [];
		for await (const chunk of request) {
			chunks.push(chunk as Buffer);
		}

		// The secret's MAC over this very request, never the secret itself.
		const macOk = checkRequest(request.headers, {method: request.method!, path: request.url!, body: Buffer.concat(chunks)}, {secret: 's3cret', needKey: false, now: Date.now()}).ok;
		seen = {method: request.method, type: request.headers['content-type'], auth: request.headers.authorization ?? (macOk ? 'MAC' : 'none'), body: JSON.parse(Buffer.concat(chunks).toString())};
		response.end(JSON.stringify({epoch: 'e1', ttlMs: 15_000}));
	});
	const client = new TrackerClient(url, {secret: 's3cret'});
	const files = [{name: 'a.txt', md5: 'd41d8cd98f00b204e9800998ecf8427e', size: 0}, {name: 'b.txt', md5: 'b'.repeat(32), size: 7}];
	const expected = {method: 'PUT', type: 'application/json', auth: 'MAC', body: {url: 'http://127.0.0.1:9', files}};
	await client.updateList('A', 'http://127.0.0.1:9', files);
	t.deepEqual(seen, expected);
	// A list that arrived as JSON text (from the share-dir thread) is sent as that text: the same body.
	seen = {};
	await client.updateList('A', 'http://127.0.0.1:9', SharedList.fromJson(JSON.stringify(files)));
	t.deepEqual(seen, expected);
});

test('the tracker client reads and checks a health reply', async t => {
	let reply = JSON.stringify({ok: true, epoch: 'e1', peers: 2, files: 5});
	const url = await serve(t, (request, response) => {
		t.is(request.url, '/health');
		response.end(reply);
	});
	const client = new TrackerClient(url);
	t.deepEqual(await client.health(), {ok: true, epoch: 'e1', peers: 2, files: 5});
	reply = JSON.stringify({ok: true, epoch: 'e1', peers: -1, files: 5});
	await t.throwsAsync(client.health(), {message: /reply\.peers/});
});
