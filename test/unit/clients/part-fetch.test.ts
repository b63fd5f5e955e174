/** fetchPart against holders that behave and holders that do not; which calls reuse a connection and which open a fresh one. */
import {randomBytes} from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import test, {type ExecutionContext} from 'ava';
import {fetchPart, type PartRequest} from '../../../source/clients/part-fetch.js';
import {getLoad, TransferError} from '../../../source/clients/peer-client.js';

const file = randomBytes(300_000);

/** A holder serving `file` by ranges (or as `reply` decides); counts the connections it accepted. */
async function holder(t: ExecutionContext, reply?: http.RequestListener): Promise<{url: string; connections: () => number}> {
	let connections = 0;
	const server = http.createServer(reply ?? ((request, response) => {
		if (request.url === '/load') {
			response.end(JSON.stringify({id: 'B', load: 0}));
			return;
		}

		const [start, end] = /bytes=(\d+)-(\d+)/.exec(request.headers.range ?? '')!.slice(1).map(Number) as [number, number];
		response.writeHead(206, {'content-range': `bytes ${start}-${end}/${file.length}`, 'content-length': end - start + 1}).end(file.subarray(start, end + 1));
	}));
	server.on('connection', () => {
		connections++;
	});
	await new Promise<void>(resolve => {
		server.listen(0, '127.0.0.1', resolve);
	});
	t.teardown(() => {
		server.closeAllConnections();
		server.close();
	});
	return {url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, connections: () => connections};
}

/** One connection per holder, as a multi-source download keeps it. */
const partAgent = () => ({http: new http.Agent({keepAlive: true, maxSockets: 1})});

async function part(url: string, span: {start: number; end: number}, extra: Partial<PartRequest> = {}): Promise<Buffer> {
	return fetchPart({url, name: 'f.bin', requesterId: 'me', span, fileSize: file.length, firstByteTimeoutMs: 2000, idleTimeoutMs: 2000, agent: partAgent(), ...extra});
}

test('parts of one holder follow one another on one kept-alive connection, each exactly its span', async t => {
	const {url, connections} = await holder(t);
	const agent = partAgent();
	t.teardown(() => {
		agent.http.destroy();
	});
	const progress: number[] = [];
	const first = await part(url, {start: 0, end: 100_000}, {agent, onBytes: received => progress.push(received)});
	const second = await part(url, {start: 100_000, end: 300_000}, {agent, into: Buffer.alloc(200_000)});
	t.true(first.equals(file.subarray(0, 100_000)));
	t.true(second.equals(file.subarray(100_000)));
	t.is(progress.at(-1), 100_000);
	t.is(connections(), 1);
});

test('GetLoad opens a fresh connection each time: a pooled socket left from before a network cut would fail on reuse', async t => {
	const {url, connections} = await holder(t);
	await getLoad(url);
	await getLoad(url);
	t.is(connections(), 2);
});

test('a Content-Range other than the span asked for, or more bytes than asked for, is a checksum mismatch', async t => {
	const shifted = await holder(t, (_request, response) => {
		response.writeHead(206, {'content-range': `bytes 1-100/${file.length}`, 'content-length': 100}).end(file.subarray(1, 101));
	});
	t.like(await t.throwsAsync(part(shifted.url, {start: 0, end: 100})), {outcome: 'checksum-mismatch', message: `${shifted.url} sent bytes 1-100/${file.length}, expected bytes 0-99/${file.length}`});

	const floods = await holder(t, (_request, response) => {
		// No Content-Length: the reply runs until the connection closes.
		response.writeHead(206, {'content-range': `bytes 0-99/${file.length}`, connection: 'close'}).end(file.subarray(0, 150));
	});
	t.like(await t.throwsAsync(part(floods.url, {start: 0, end: 100})), {outcome: 'checksum-mismatch', message: `${floods.url} sent more than the 100 bytes asked for`});
});

test('a holder that does not have the file is not-found; one that refuses is refused, with the --secret hint for a 401', async t => {
	for (const [status, outcome, message] of [[404, 'not-found', /does not have f\.bin/], [401, 'refused', /answered 401 to a range request \(wrong or missing --secret\)/], [200, 'refused', /answered 200 to a range request$/]] as const) {
		const {url} = await holder(t, (_request, response) => {
			response.writeHead(status).end('{}');
		});

		const error = await t.throwsAsync(part(url, {start: 0, end: 100}), {instanceOf: TransferError, message});
		t.is(error!.outcome, outcome);
	}
});

test('a holder that goes quiet mid-part is stalled; one that closes midway is dropped; a part no longer needed stops at once', async t => {
	const quiet = await holder(t, (_request, response) => {
		response.writeHead(206, {'content-range': `bytes 0-99/${file.length}`, 'content-length': 100}).write(file.subarray(0, 40));
	});
	t.like(await t.throwsAsync(part(quiet.url, {start: 0, end: 100}, {idleTimeoutMs: 200})), {outcome: 'stalled', message: `${quiet.url} sent nothing for 200 ms`});

	const silent = await holder(t, () => {});
	t.like(await t.throwsAsync(part(silent.url, {start: 0, end: 100}, {firstByteTimeoutMs: 200})), {outcome: 'stalled', message: `no data from ${silent.url} within 200 ms`});

	const closes = await holder(t, (request, response) => {
		response.writeHead(206, {'content-range': `bytes 0-99/${file.length}`, 'content-length': 100}).write(file.subarray(0, 40));
		setTimeout(() => {
			request.socket.destroy();
		}, 20);
	});
	t.like(await t.throwsAsync(part(closes.url, {start: 0, end: 100})), {outcome: 'dropped'});

	const controller = new AbortController();
	const fetching = part(quiet.url, {start: 0, end: 100}, {signal: controller.signal, onBytes() {
		controller.abort();
	}});
	t.like(await t.throwsAsync(fetching), {outcome: 'dropped', message: 'part no longer needed'});
});
