/** receiveFile against holders that behave and holders that do not, over plain http. */
import {createHash, randomBytes} from 'node:crypto';
import {readdir, readFile} from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {receiveFile, TransferError} from '../../../source/clients/peer-client.js';
import {tempDir} from '../../helpers/peer-app.js';

const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

/** A raw TCP holder: `reply` gets each request's head and writes whatever it likes. */
async function holder(t: ExecutionContext, reply: (socket: net.Socket, requestHead: string) => void): Promise<string> {
	const server = net.createServer(socket => {
		let head = '';
		socket.on('data', (chunk: Buffer) => {
			head += chunk.toString('latin1');
			if (head.includes('\r\n\r\n')) {
				socket.removeAllListeners('data');
				reply(socket, head);
			}
		});
		socket.on('error', () => {});
	});
	await new Promise<void>(resolve => {
		server.listen(0, '127.0.0.1', resolve);
	});
	t.teardown(async () => new Promise<void>(resolve => {
		server.close(() => {
			resolve();
		});
	}));
	return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

const replyHead = (status: string, headers: Record<string, string | number>) => `HTTP/1.1 ${status}\r\n${Object.entries(headers).map(([key, value]) => `${key}: ${value}\r\n`).join('')}\r\n`;

async function receive(t: ExecutionContext, url: string, expectedSize: number, extra: {firstByteTimeoutMs?: number; idleTimeoutMs?: number; secret?: string; signal?: AbortSignal} = {}) {
	const dir = await tempDir(t);
	const tempPath = path.join(dir, 'file.part');
	const progress: number[] = [];
	const result = receiveFile({
		url, name: 'file.bin', requesterId: 'me', tempPath, expectedSize,
		firstByteTimeoutMs: extra.firstByteTimeoutMs ?? 5000, idleTimeoutMs: extra.idleTimeoutMs ?? 5000,
		secret: extra.secret, signal: extra.signal,
		onBytes(received) {
			progress.push(received);
		},
	});
	return {result, tempPath, dir, progress};
}

test('a file larger than the ring, sent in uneven pieces, arrives whole with its md5; the request names the requester and the secret', async t => {
	const body = randomBytes((5 * 1024 * 1024) + 12_345);
	let requestHead = '';
	const url = await holder(t, async (socket, head) => {
		requestHead = head;
		socket.write(replyHead('200 OK', {'Content-Length': body.length}));
		for (let offset = 0; offset < body.length;) {
			const piece = 1 + ((offset * 7919) % 300_000);
			socket.write(body.subarray(offset, offset + piece));
			offset += piece;
		}

		socket.end();
	});
	const {result, tempPath, progress} = await receive(t, url, body.length, {secret: 's3cret'});
	t.deepEqual(await result, {md5: md5(body), size: body.length});
	t.true((await readFile(tempPath)).equals(body));
	t.is(progress.at(-1), body.length);
	t.regex(requestHead, /^GET \/files\/file\.bin HTTP\/1\.1\r\n/);
	t.regex(requestHead, /\r\nx-xfs-peer: me\r\n/i);
	// The secret's MAC, never the secret.
	t.regex(requestHead, /\r\nx-xfs-mac: [\da-f]{64}\r\n/i);
	t.false(requestHead.includes('s3cret'));
});

test('an empty file arrives as an empty file', async t => {
	const url = await holder(t, socket => {
		socket.end(replyHead('200 OK', {'Content-Length': 0}));
	});
	const {result, tempPath} = await receive(t, url, 0);
	t.deepEqual(await result, {md5: md5(Buffer.alloc(0)), size: 0});
	t.is((await readFile(tempPath)).length, 0);
});

for (const [status, outcome, message] of [
	['404 Not Found', 'not-found', /does not have file\.bin/],
	['401 Unauthorized', 'refused', /answered 401 \(wrong or missing --secret\)/],
	['500 Internal Server Error', 'refused', /answered 500$/],
] as const) {
	test(`a ${status} reply is ${outcome}`, async t => {
		const url = await holder(t, socket => {
			socket.end(`${replyHead(status, {'Content-Length': 2})}{}`);
		});
		const error = await t.throwsAsync((await receive(t, url, 10)).result, {instanceOf: TransferError, message});
		t.is(error.outcome, outcome);
	});
}

test('a length other than the tracker\'s, or more bytes than announced, is a checksum mismatch; the extra bytes are not written', async t => {
	const offers = await holder(t, socket => {
		// Header names in any case.
		socket.end('HTTP/1.1 200 OK\r\ncontent-LENGTH: 5\r\n\r\n12345');
	});
	const offered = await receive(t, offers, 10);
	t.like(await t.throwsAsync(offered.result), {outcome: 'checksum-mismatch', message: `${offers} offers 5 bytes, the tracker says 10`});

	const floods = await holder(t, socket => {
		socket.end(`${replyHead('200 OK', {Connection: 'close'})}${'x'.repeat(20)}`);
	});
	const flooded = await receive(t, floods, 10);
	t.like(await t.throwsAsync(flooded.result), {outcome: 'checksum-mismatch', message: `${floods} sent more than 10 bytes`});
	t.true((await readFile(flooded.tempPath, 'utf8')).length <= 10);
});

test('a holder that closes midway is dropped; one that goes quiet is stalled; one that is not there is down', async t => {
	const closes = await holder(t, socket => {
		socket.end(`${replyHead('200 OK', {'Content-Length': 100})}${'x'.repeat(40)}`);
	});
	t.like(await t.throwsAsync((await receive(t, closes, 100)).result), {outcome: 'dropped'});

	const quiet = await holder(t, socket => {
		socket.write(`${replyHead('200 OK', {'Content-Length': 100})}${'x'.repeat(40)}`);
	});
	t.like(await t.throwsAsync((await receive(t, quiet, 100, {idleTimeoutMs: 200})).result), {outcome: 'stalled'});

	const silent = await holder(t, () => {});
	t.like(await t.throwsAsync((await receive(t, silent, 100, {firstByteTimeoutMs: 200})).result), {outcome: 'stalled'});

	// A port that was free a moment ago: nothing listens there.
	const free = net.createServer();
	await new Promise<void>(resolve => {
		free.listen(0, '127.0.0.1', resolve);
	});
	const freePort = (free.address() as net.AddressInfo).port;
	await new Promise<void>(resolve => {
		free.close(() => {
			resolve();
		});
	});
	t.like(await t.throwsAsync((await receive(t, `http://127.0.0.1:${freePort}`, 100)).result), {outcome: 'down'});
});

test('a reply without a Content-Length in chunks, or with an endless head, is dropped', async t => {
	const chunked = await holder(t, socket => {
		socket.end(`${replyHead('200 OK', {'Transfer-Encoding': 'chunked'})}5\r\nhello\r\n0\r\n\r\n`);
	});
	t.like(await t.throwsAsync((await receive(t, chunked, 5)).result), {outcome: 'dropped'});

	const endless = await holder(t, socket => {
		socket.write('HTTP/1.1 200 OK\r\n');
		socket.write(`X-Filler: ${'y'.repeat(100 * 1024)}`);
	});
	t.like(await t.throwsAsync((await receive(t, endless, 5)).result), {outcome: 'dropped'});
});

test('a download cancelled midway stops at once and leaves only its temp file to remove', async t => {
	const url = await holder(t, socket => {
		socket.write(`${replyHead('200 OK', {'Content-Length': 1000})}${'x'.repeat(10)}`);
	});
	const controller = new AbortController();
	const {result, dir, progress} = await receive(t, url, 1000, {signal: controller.signal});
	while (progress.length === 0) {
		await new Promise(resolve => {
			setImmediate(resolve);
		});
	}

	controller.abort();
	t.like(await t.throwsAsync(result), {outcome: 'dropped', message: 'download cancelled'});
	t.deepEqual(await readdir(dir), ['file.part']);
});

test('the same receive works against a real node:http holder', async t => {
	const body = randomBytes(300_000);
	const server = http.createServer((request, response) => {
		response.writeHead(200, {'Content-Length': body.length}).end(body);
	});
	await new Promise<void>(resolve => {
		server.listen(0, '127.0.0.1', resolve);
	});
	t.teardown(async () => new Promise<void>(resolve => {
		server.close(() => {
			resolve();
		});
	}));
	const {result} = await receive(t, `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, body.length);
	t.deepEqual(await result, {md5: md5(body), size: body.length});
});
