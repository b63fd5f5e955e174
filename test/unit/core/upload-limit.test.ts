import {createHash} from 'node:crypto';
import {Readable, Writable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {setImmediate as yieldToStreams} from 'node:timers/promises';
import test from 'ava';
import {type Clock, throttledStream} from '../../../source/serve/throttled-stream.js';
import {UploadLimiter} from '../../../source/core/upload-limiter.js';
import {peerEntry, startChild} from '../../helpers/processes.js';

test('an idle limiter lets one burst through, then charges bytes/rate for the rest', t => {
	const limiter = new UploadLimiter(1000, {now: 0, burstBytes: 500});
	t.is(limiter.reserve(500, 0), 0);
	t.is(limiter.reserve(250, 0), 250);
	t.is(limiter.reserve(250, 0), 500);
	t.is(limiter.available(0), -500);
	// Debt is paid back at the rate; the bucket never holds more than the burst.
	t.is(limiter.available(500), 0);
	t.is(limiter.available(60_000), 500);
});

test('concurrent uploads share one budget: their waits add up to the total bytes over the rate', t => {
	const limiter = new UploadLimiter(2000, {now: 0, burstBytes: 0});
	const waits = {first: [] as number[], second: [] as number[]};
	for (let slice = 0; slice < 4; slice++) {
		waits.first.push(limiter.reserve(500, 0));
		waits.second.push(limiter.reserve(500, 0));
	}

	t.deepEqual(waits, {first: [250, 750, 1250, 1750], second: [500, 1000, 1500, 2000]});
});

test('slices are short at low rates and capped at high ones', t => {
	t.is(new UploadLimiter(1000).sliceBytes, 256);
	t.is(new UploadLimiter(100_000).sliceBytes, 2000);
	t.is(new UploadLimiter(100_000_000).sliceBytes, 65_536);
	t.is(new UploadLimiter(100_000).burstBytes, 2000);
});

test('a limit that is not a positive number is refused', t => {
	for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
		t.throws(() => new UploadLimiter(rate), {instanceOf: RangeError});
	}
});

/** Virtual time: sleeps resolve in order of their deadlines once every stream has had its turn. */
function fakeClock(): Clock & {run: (done: Promise<unknown>) => Promise<void>; sleeps: number[]} {
	let now = 0;
	let finished = false;
	const timers: Array<{at: number; resolve: () => void}> = [];
	const sleeps: number[] = [];
	return {
		sleeps,
		now: () => now,
		async sleep(ms) {
			sleeps.push(ms);
			return new Promise<void>(resolve => {
				timers.push({at: now + ms, resolve});
			});
		},
		async run(done) {
			void done.finally(() => {
				finished = true;
			});
			while (!finished) {
				for (let turn = 0; turn < 20; turn++) {
					await yieldToStreams();
				}

				timers.sort((a, b) => a.at - b.at);
				const next = timers.shift();
				if (next) {
					now = next.at;
					next.resolve();
				}
			}

			await done;
		},
	};
}

function bytes(size: number, seed: number): Buffer {
	return Buffer.from(Array.from({length: size}, (_, index) => (index * seed) % 251));
}

async function collect(source: Buffer, stream: NodeJS.ReadWriteStream): Promise<Buffer> {
	const chunks: Buffer[] = [];
	await pipeline(Readable.from([source.subarray(0, 3000), source.subarray(3000)]), stream, new Writable({
		write(chunk: Buffer, _encoding, callback) {
			chunks.push(chunk);
			callback();
		},
	}));
	return Buffer.concat(chunks);
}

test('the throttled stream passes every byte unchanged, taking bytes/rate of virtual time', async t => {
	const clock = fakeClock();
	const limiter = new UploadLimiter(1000, {now: 0, burstBytes: 256});
	const input = bytes(10_000, 7);
	const output = collect(input, throttledStream(limiter, clock));
	await clock.run(output);
	t.deepEqual(await output, input);
	t.is(Math.round(clock.now()), 9744);
});

test('two throttled uploads on one limiter take their total bytes over the rate', async t => {
	const clock = fakeClock();
	const limiter = new UploadLimiter(1000, {now: 0, burstBytes: 256});
	const inputs = [bytes(6000, 3), bytes(6000, 5)];
	const outputs = Promise.all(inputs.map(async input => collect(input, throttledStream(limiter, clock))));
	await clock.run(outputs);
	t.deepEqual(await outputs, inputs);
	t.is(Math.round(clock.now()), 11_744);
});

test('--upload-limit must be a positive whole number of bytes/s', async t => {
	for (const value of ['0', 'fast']) {
		const peer = startChild(t, peerEntry, ['--id', 'A', '--dir', '.', '--upload-limit', value]);
		const line = await peer.stderr.next(/upload-limit/);
		t.regex(line, /^xfs-peer: --upload-limit/);
		t.is((await peer.exited).code, 2);
	}
});

test('md5 of bytes through the stream matches the source (no reordering across slices)', async t => {
	const clock = fakeClock();
	const limiter = new UploadLimiter(5000, {now: 0});
	const input = bytes(40_000, 11);
	const output = collect(input, throttledStream(limiter, clock));
	await clock.run(output);
	t.is(createHash('md5').update(await output).digest('hex'), createHash('md5').update(input).digest('hex'));
});
