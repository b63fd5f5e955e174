/** What every request of the peer's HTTP client carries and refuses: the credential on every kind, no redirect followed, nothing decompressed. */
import {createHash} from 'node:crypto';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import path from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {PeerDownError, XfsError} from '../../../source/common/errors.js';
import {checkRequest} from '../../../source/common/signing.js';
import {fetchPart, getPartsList} from '../../../source/clients/part-fetch.js';
import {getLoad, receiveFile, TransferError} from '../../../source/clients/peer-client.js';
import {TrackerClient} from '../../../source/clients/tracker-client.js';
import {tempDir} from '../../helpers/peer-app.js';

const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');
const body = Buffer.from('0123456789abcdef');

async function serve(t: ExecutionContext, handler: http.RequestListener): Promise<string> {
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

/** A tracker and a holder in one: a fitting answer to every request of the two protocols. */
const answers: http.RequestListener = (request, response) => {
	const json = (value: unknown, status = 200) => {
		response.writeHead(status, {'content-type': 'application/json'}).end(JSON.stringify(value));
	};

	const route = `${request.method} ${request.url}`;
	switch (route) {
		case 'PUT /peers/me': {
			request.resume().once('end', () => {
				json({epoch: 'e1', ttlMs: 15_000});
			});

			break;
		}

		case 'POST /peers/me/heartbeat': {
			json({epoch: 'e1', known: true});

			break;
		}

		case 'DELETE /peers/me': {
			response.writeHead(204).end();

			break;
		}

		default: {if (route === 'GET /files/f.bin' && request.headers.range) {
			response.writeHead(206, {'content-range': `bytes 4-7/${body.length}`, 'content-length': 4}).end(body.subarray(4, 8));
		} else {
			switch (route) {
				case 'GET /files/f.bin': {
					response.writeHead(200, {'content-length': body.length}).end(body);

					break;
				}

				case 'GET /files': {
					json({files: []});

					break;
				}

				case 'GET /peers': {
					json({peers: []});

					break;
				}

				case 'GET /health': {
					json({ok: true, epoch: 'e1', peers: 0, files: 0});

					break;
				}

				case 'POST /peers/B/suspect': {
					json({dropped: false});

					break;
				}

				case 'GET /load': {
					json({id: 'B', load: 0});

					break;
				}

				case 'GET /files/f.bin/parts': {
					json({name: 'f.bin', size: body.length, partSize: 8, md5s: [md5(body.subarray(0, 8)), md5(body.subarray(8))]});

					break;
				}

				default: {
					json({error: {code: 'NOT_FOUND', message: route}}, 404);
				}
			}
		}
		}
	}
};

/** Every kind of request the peer makes, against one server. */
async function everyRequest(t: ExecutionContext, url: string, secret: string | undefined): Promise<Array<PromiseSettledResult<unknown>>> {
	const tracker = new TrackerClient(url, {secret});
	const dir = await tempDir(t);
	const agent = {http: new http.Agent({keepAlive: true, maxSockets: 1})};
	t.teardown(() => {
		agent.http.destroy();
	});
	// Generous timeouts: this is about what each request carries, and a busy machine must not turn it into a timeout.
	const file = {url, name: 'f.bin', requesterId: 'me', firstByteTimeoutMs: 10_000, idleTimeoutMs: 10_000, secret};
	return Promise.allSettled([
		tracker.updateList('me', 'http://127.0.0.1:9', []),
		tracker.heartbeat('me'),
		tracker.find('g.bin'),
		tracker.files(),
		tracker.peers(),
		tracker.health(),
		tracker.suspect('B'),
		tracker.leave('me'),
		getLoad(url, {secret, timeoutMs: 10_000}),
		getPartsList(url, 'f.bin', {timeoutMs: 10_000, secret}),
		receiveFile({...file, tempPath: path.join(dir, 'f.part'), expectedSize: body.length}),
		fetchPart({...file, span: {start: 4, end: 8}, fileSize: body.length, agent}),
	]);
}

test('with a secret, every kind of request carries it: tracker calls, GetLoad, parts lists, files and parts; none asks for compression', async t => {
	const seen: string[] = [];
	const url = await serve(t, (request, response) => {
		// A request without a body: its MAC is checked over method, path and time (GET, DELETE, POST without a body here; PUT's body is checked in http-clients).
		const mac = request.headers['x-xfs-mac'] === undefined ? 'no credential' : (request.method === 'PUT' || checkRequest(request.headers, {method: request.method!, path: request.url!}, {secret: 's3cret', needKey: false, now: Date.now()}).ok ? 'MAC' : 'bad MAC');
		seen.push(`${request.method} ${request.url} ${request.headers.authorization ?? mac} ${request.headers['accept-encoding'] ?? ''}`.trim());
		answers(request, response);
	});
	const results = await everyRequest(t, url, 's3cret');
	// The find of a name no holder holds is the tracker's 404; everything else succeeds.
	t.deepEqual(results.map(result => result.status), ['fulfilled', 'fulfilled', 'rejected', ...Array.from({length: 9}, () => 'fulfilled')]);
	t.is((results[2] as PromiseRejectedResult).reason.code, 'NOT_FOUND');
	t.deepEqual(seen.sort(), [
		'DELETE /peers/me MAC',
		'GET /files MAC',
		'GET /files/f.bin MAC',
		'GET /files/f.bin MAC',
		'GET /files/f.bin/parts MAC',
		'GET /files/g.bin MAC',
		'GET /health MAC',
		'GET /load MAC',
		'GET /peers MAC',
		'POST /peers/B/suspect MAC',
		'POST /peers/me/heartbeat MAC',
		'PUT /peers/me MAC',
	]);
});

test('without a secret no request carries a credential', async t => {
	const seen = new Set<string>();
	const url = await serve(t, (request, response) => {
		seen.add(request.headers.authorization ?? 'none');
		answers(request, response);
	});
	await everyRequest(t, url, undefined);
	t.deepEqual([...seen], ['none']);
});

test('a redirect is never followed: the tracker\'s is an error, a holder\'s is a refusal', async t => {
	let redirected = 0;
	const elsewhere = await serve(t, (request, response) => {
		redirected++;
		answers(request, response);
	});
	const url = await serve(t, (request, response) => {
		response.writeHead(302, {location: `${elsewhere}${request.url}`, 'content-type': 'application/json'}).end('{}');
	});
	const dir = await tempDir(t);
	const file = {url, name: 'f.bin', requesterId: 'me', firstByteTimeoutMs: 2000, idleTimeoutMs: 2000};
	const found = await t.throwsAsync(new TrackerClient(url).find('f.bin'), {instanceOf: XfsError, message: 'tracker answered 302 to GET /files/f.bin'});
	t.is(found!.code, 'BAD_INPUT');
	await t.throwsAsync(getLoad(url), {instanceOf: PeerDownError, message: `no answer from ${url}: status 302`});
	await t.throwsAsync(getPartsList(url, 'f.bin', {timeoutMs: 2000}), {instanceOf: PeerDownError, message: /status 302/});
	t.like(await t.throwsAsync(receiveFile({...file, tempPath: path.join(dir, 'f.part'), expectedSize: body.length})), {outcome: 'refused', message: `${url} answered 302`});
	const agent = {http: new http.Agent({keepAlive: true, maxSockets: 1})};
	t.teardown(() => {
		agent.http.destroy();
	});
	t.like(await t.throwsAsync(fetchPart({...file, span: {start: 4, end: 8}, fileSize: body.length, agent}), {instanceOf: TransferError}), {outcome: 'refused', message: `${url} answered 302 to a range request`});
	t.is(redirected, 0);
});

test('a compressed reply is not decompressed: a file\'s bytes are what the holder sent', async t => {
	const url = await serve(t, (_request, response) => {
		response.writeHead(200, {'content-encoding': 'gzip', 'content-length': body.length}).end(body);
	});
	const dir = await tempDir(t);
	const received = await receiveFile({url, name: 'f.bin', requesterId: 'me', tempPath: path.join(dir, 'f.part'), expectedSize: body.length, firstByteTimeoutMs: 2000, idleTimeoutMs: 2000});
	t.deepEqual(received, {md5: md5(body), size: body.length});
});
