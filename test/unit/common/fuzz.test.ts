import {writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import {parseCommand} from '../../../source/commands/command-parser.js';
import {XfsError} from '../../../source/common/errors.js';
import {isValidFileName, isValidPeerId} from '../../../source/common/wire.js';
import {startTracker} from '../../../tracker/server.js';
import {rawRequest, startPeerApp, tempDir} from '../../helpers/peer-app.js';

const md5 = 'e'.repeat(32);
/** Path segments: valid names, traversal and encoding tricks, and arbitrary text percent-encoded. */
const segment = fc.oneof(
	fc.constantFrom('A', 'B', 'ok.txt', 'big.bin', '..', '.', '%2e%2e', '%2F', '%00', '%252e', '..%5c', '.xfs', '%E0%A4%A', '%', '%zz', 'a%2Fb', '~', '*'),
	fc.string({maxLength: 30}).map(text => encodeURIComponent(text)),
	fc.stringMatching(/^[A-Za-z\d._-]{1,300}$/),
);
const jsonBody = fc.oneof(
	fc.json({maxDepth: 3}),
	fc.string({maxLength: 200}),
	fc.record({
		url: fc.oneof(fc.constant('http://127.0.0.1:9'), fc.webUrl(), fc.string(), fc.integer()),
		files: fc.oneof(
			fc.array(fc.record({name: fc.oneof(segment, fc.string()), md5: fc.oneof(fc.constant(md5), fc.string()), size: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.string())}, {requiredKeys: []}), {maxLength: 5}),
			fc.anything({maxDepth: 2}),
		),
	}, {requiredKeys: []}).map(body => JSON.stringify(body)),
);
const headerValue = fc.stringMatching(/^[\u0020-\u007E]{0,60}$/);

test('the command parser returns a command or a BAD_INPUT error for any line', t => {
	fc.assert(fc.property(
		fc.oneof(fc.string({maxLength: 300}), fc.tuple(fc.constantFrom('find', 'download', 'getload', 'ls', 'help', 'exit', 'updatelist'), fc.array(segment, {maxLength: 3})).map(([verb, args]) => [verb, ...args].join(' '))),
		line => {
			try {
				const command = parseCommand(line);
				if (command && 'name' in command) {
					t.true(isValidFileName(command.name));
				}
			} catch (error) {
				if (!(error instanceof XfsError) || error.code !== 'BAD_INPUT') {
					throw error;
				}
			}
		},
	), {numRuns: 3000});
	t.pass();
});

test('the tracker answers every random request without a 5xx, and its state stays consistent', async t => {
	const tracker = await startTracker({port: 0, warmupMs: 0, probeOnJoin: false, ttlMs: 60_000});
	t.teardown(async () => tracker.close());
	let runs = 0;
	await fc.assert(fc.asyncProperty(
		fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD'),
		fc.constantFrom('/peers/', '/files/', '/peers/A/', '/', '/health/'),
		fc.array(segment, {minLength: 0, maxLength: 3}),
		fc.option(jsonBody),
		fc.dictionary(fc.constantFrom('content-type', 'range', 'x-xfs-peer', 'authorization', 'accept'), headerValue, {maxKeys: 3}),
		async (method, prefix, segments, body, headers) => {
			runs++;
			const reply = await rawRequest(tracker.url, prefix + segments.join('/'), {
				method,
				headers: body === null ? headers : {'content-type': 'application/json', ...headers},
				body: body === null || method === 'GET' || method === 'HEAD' ? undefined : body,
			});
			if (reply.status >= 500) {
				throw new Error(`${method} ${prefix}${segments.join('/')} → ${reply.status} ${reply.body.toString().slice(0, 200)}`);
			}

			if (reply.status >= 400 && method !== 'HEAD') {
				const parsed = JSON.parse(reply.body.toString());
				if (typeof parsed.error?.code !== 'string') {
					throw new TypeError(`a ${reply.status} without an error code: ${reply.body.toString().slice(0, 200)}`);
				}
			}
		},
	), {numRuns: 600});

	// Invariants after the storm: every listed file and peer is valid, and Find agrees with the lists.
	const now = Date.now();
	const peers = new Set(tracker.state.peers(now).map(peer => peer.id));
	for (const id of peers) {
		t.true(isValidPeerId(id));
	}

	for (const file of tracker.state.files(now)) {
		t.true(isValidFileName(file.name));
		const found = tracker.state.find(file.name, now);
		t.is(found?.peers.length, file.holders);
		t.true(found!.peers.every(peer => peers.has(peer.id)));
	}

	t.is((await rawRequest(tracker.url, '/health')).status, 200);
	t.log(`${runs} random requests`);
});

test('the peer server answers every random path and Range without a 5xx and serves only share-dir bytes', async t => {
	const dir = await tempDir(t);
	const content = new Map([['ok.txt', Buffer.from('shared bytes')], ['big.bin', Buffer.alloc(70_000, 7)]]);
	for (const [name, bytes] of content) {
		await writeFile(path.join(dir, name), bytes);
	}

	const {url, load} = await startPeerApp(t, dir);
	let runs = 0;
	await fc.assert(fc.asyncProperty(
		fc.constantFrom('/files/', '/load/', '/', '/files/ok.txt/'),
		fc.array(segment, {maxLength: 2}),
		fc.option(fc.oneof(headerValue, fc.tuple(fc.nat(80_000), fc.option(fc.nat(80_000))).map(([from, to]) => `bytes=${from}-${to ?? ''}`))),
		async (prefix, segments, range) => {
			runs++;
			const requestPath = prefix + segments.join('/');
			const reply = await rawRequest(url, requestPath, {headers: range === null ? {} : {range}});
			if (![200, 206, 400, 404, 416].includes(reply.status)) {
				throw new Error(`GET ${requestPath} (range ${range}) → ${reply.status}`);
			}

			// The peer's own list (GET /files) and a name's info are JSON about the share, not its bytes.
			const listing = /^\/files\/?$/.test(requestPath) || /^\/files\/[^/]+\/info\/?$/.test(requestPath);
			if ((reply.status === 200 || reply.status === 206) && requestPath.startsWith('/files/') && !listing) {
				const served = [...content.values()].some(bytes => bytes.includes(reply.body));
				if (!served) {
					throw new Error(`GET ${requestPath} served bytes that are not from the share dir`);
				}
			}
		},
	), {numRuns: 600});
	t.is(load.load, 0);
	t.log(`${runs} random requests`);
});
