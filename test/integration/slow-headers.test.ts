import net from 'node:net';
import test from 'ava';
import {startPeerApp} from '../helpers/peer-app.js';
import {shareDir, startTracker} from '../helpers/processes.js';

/** Opens a connection that sends a request head one byte a second and never finishes it; resolves with the ms until the server closes it. */
async function trickle(base: string): Promise<number> {
	const {hostname, port} = new URL(base);
	const socket = net.connect(Number(port), hostname);
	const started = Date.now();
	socket.write('GET /load HTTP/1.1\r\nHost: x\r\n');
	const timer = setInterval(() => {
		socket.write('X');
	}, 1000);
	socket.resume();
	// The server may end it with a reset: that is the close this waits for, not an error.
	socket.on('error', () => {});
	await new Promise<void>(resolve => {
		socket.once('close', () => {
			resolve();
		});
	});
	clearInterval(timer);
	return Date.now() - started;
}

// Both servers set a 10 s headers timeout; Node's default check interval (30 s) kept such clients 17-31 s.
test('a client that trickles its headers is dropped soon after 10 s by the peer and by the tracker', async t => {
	const {url} = await startPeerApp(t, await shareDir(t));
	const tracker = await startTracker(t);
	const [peerMs, trackerMs] = await Promise.all([trickle(url), trickle(tracker.url)]);
	t.true(peerMs < 13_000, `peer closed after ${peerMs} ms`);
	t.true(trackerMs < 13_000, `tracker closed after ${trackerMs} ms`);
});
