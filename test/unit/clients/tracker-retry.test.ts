/** Tracker calls that wait for a tracker that is down: got's retry with the tracker back-off, the notices before each wait, --tracker-wait, and stop. */
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import test, {type ExecutionContext} from 'ava';
import {TrackerDownError, XfsError} from '../../../source/common/errors.js';
import {TrackerClient} from '../../../source/clients/tracker-client.js';
import {Membership} from '../../../source/peer/membership.js';
import {notices} from '../../../source/peer/notices.js';

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

/** A port nothing listens on. */
async function closedPort(): Promise<string> {
	const server = http.createServer();
	await new Promise<void>(resolve => {
		server.listen(0, '127.0.0.1', resolve);
	});
	const {port} = server.address() as AddressInfo;
	await new Promise<void>(resolve => {
		server.close(() => {
			resolve();
		});
	});
	return `http://127.0.0.1:${port}`;
}

function membershipOf(url: string, trackerWaitMs: number) {
	const membership = new Membership(new TrackerClient(url, {timeoutMs: 1000}), {
		id: 'me', heartbeatMs: 5000, trackerWaitMs, list: () => ({wholeList: () => ({json: '[]', version: 1, count: 0}), takeBatch: () => undefined, hasPending: false, pendingCount: 0}), url: () => 'http://127.0.0.1:9',
	});
	/** What happened, in order: requests the tracker saw, status changes and retry lines. */
	const log: string[] = [];
	membership.on('tracker', status => log.push(`status ${status.state}`));
	membership.on('retry', line => log.push(`retry ${line}`));
	return {membership, log};
}

test('a tracker answering 503 is asked again after 0.25 s, then 0.5 s; each wait is announced before it starts, with the waiting status', async t => {
	const seen: number[] = [];
	const requests: Array<() => void> = [];
	const url = await serve(t, (_request, response) => {
		seen.push(Date.now());
		requests.shift()?.();
		response.statusCode = seen.length <= 2 ? 503 : 200;
		response.end(seen.length <= 2 ? '{}' : JSON.stringify({files: []}));
	});
	const {membership, log} = membershipOf(url, 10_000);
	requests.push(...Array.from({length: 3}, () => () => log.push('request')));
	const announced: number[] = [];
	membership.on('retry', () => announced.push(Date.now()));
	const client = new TrackerClient(url);
	t.deepEqual(await membership.withTracker('files', async retry => client.files(retry)), []);
	t.deepEqual(log, [
		'request',
		'status waiting',
		`retry ${notices.callDown(250, 'files', 10_000)}`,
		'request',
		'status waiting',
		`retry ${notices.callDown(500, 'files', 10_000)}`,
		'request',
	]);
	t.is(notices.callDown(250, 'files', 10_000), 'tracker down, retrying in 0.25 s (files waits up to 10 s)');
	// Announced before the wait, and the next request only after it.
	t.true(seen[1]! - announced[0]! >= 240, `${seen[1]! - announced[0]!} ms`);
	t.true(seen[2]! - announced[1]! >= 490, `${seen[2]! - announced[1]!} ms`);
});

test('the waits end at --tracker-wait: TRACKER_DOWN naming the bound; with no wait allowed, at once', async t => {
	const url = await closedPort();
	const {membership, log} = membershipOf(url, 600);
	const client = new TrackerClient(url);
	const started = Date.now();
	const error = await t.throwsAsync(membership.withTracker('find a.txt', async retry => client.find('a.txt', retry)), {instanceOf: TrackerDownError});
	const elapsed = Date.now() - started;
	t.regex(error!.message, new RegExp(`^tracker ${url} still down after [\\d.]+ s \\(--tracker-wait 600 ms\\)$`));
	t.true(elapsed >= 550 && elapsed < 3000, `${elapsed} ms`);
	t.is(log[0], 'status waiting');
	t.is(log[1], `retry ${notices.callDown(250, 'find a.txt', 600)}`);
	t.true(log.length >= 3, log.join('\n'));

	const once = membershipOf(url, 600);
	await t.throwsAsync(once.membership.withTracker('find a.txt', async retry => client.find('a.txt', retry), 0), {instanceOf: TrackerDownError, message: `tracker ${url} is down`});
	t.deepEqual(once.log, []);
});

test('stopping the membership cancels a wait at once', async t => {
	const url = await closedPort();
	const {membership} = membershipOf(url, 60_000);
	const client = new TrackerClient(url);
	membership.once('retry', () => {
		void membership.leave();
	});
	const started = Date.now();
	await t.throwsAsync(membership.withTracker('peers', async retry => client.peers(retry)), {instanceOf: TrackerDownError, message: /still down after/});
	t.true(Date.now() - started < 1000, `${Date.now() - started} ms`);
});

test('a 4xx is the tracker\'s answer: not retried, its code kept', async t => {
	let requests = 0;
	const url = await serve(t, (_request, response) => {
		requests++;
		response.statusCode = 409;
		response.end(JSON.stringify({error: {code: 'ID_IN_USE', message: 'me is in use at another address'}}));
	});
	const {membership, log} = membershipOf(url, 10_000);
	const client = new TrackerClient(url);
	const error = await t.throwsAsync(membership.withTracker('updatelist', async retry => client.updateList('me', 'http://127.0.0.1:9', [], {retry})), {instanceOf: XfsError});
	t.is(error!.code, 'ID_IN_USE');
	t.is(requests, 1);
	t.deepEqual(log, []);
});
