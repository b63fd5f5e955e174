/**
 * The hashing thread of HashingFileSink: takes one download at a time (its fd, the ring and the
 * control array), hashes and writes the bytes the main thread puts in the ring, fsyncs at the end
 * and answers with the md5, an error, or that the download was aborted; then waits for the next.
 */
import {createHash} from 'node:crypto';
import {fsyncSync, writeSync} from 'node:fs';
import {parentPort} from 'node:worker_threads';
import {aborted, consumed, ended, type HashingJob, type HashingReply, produced} from './hashing-ring.js';

function hashInto({fd, ring, control}: HashingJob): HashingReply {
	const bytes = new Uint8Array(ring);
	const state = new BigInt64Array(control);
	const hash = createHash('md5');
	let done = 0n;
	try {
		for (;;) {
			if (Atomics.load(state, aborted) !== 0n) {
				return {aborted: true};
			}

			const available = Atomics.load(state, produced);
			if (available === done) {
				if (Atomics.load(state, ended) !== 0n) {
					fsyncSync(fd);
					return {md5: hash.digest('hex')};
				}

				// The main thread notifies per batch and at the end; the timeout only bounds a missed wake-up.
				Atomics.wait(state, produced, done, 1000);
				continue;
			}

			const start = Number(done % BigInt(bytes.length));
			const length = Math.min(Number(available - done), bytes.length - start);
			const view = bytes.subarray(start, start + length);
			hash.update(view);
			for (let written = 0; written < length;) {
				written += writeSync(fd, view, written, length - written, Number(done) + written);
			}

			done += BigInt(length);
			Atomics.store(state, consumed, done);
			Atomics.notify(state, consumed);
		}
	} catch (error) {
		const {message, code} = error as NodeJS.ErrnoException;
		return {error: {message, code}};
	}
}

if (!parentPort) {
	throw new Error('hashing-thread runs on a worker thread (see hashing-sink.ts)');
}

const port = parentPort;
port.on('message', (job: HashingJob) => {
	port.postMessage(hashInto(job));
});
const ready: HashingReply = {ready: true};
port.postMessage(ready);
