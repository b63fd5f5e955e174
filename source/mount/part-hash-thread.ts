/**
 * The mount's part-checking thread: the md5 of a part the main thread received, so the event loop
 * that answers the mount never hashes. The part's memory is moved here and back, never copied, and
 * nothing of it stays referenced here once the answer is sent.
 */
import {createHash} from 'node:crypto';
import {parentPort} from 'node:worker_threads';

/** One part to hash: the first `length` bytes of `bytes`, whose memory is moved (transferred) to this thread and back. */
export type PartHashJob = {id: number; bytes: ArrayBuffer; length: number};
export type PartHashReply = {id: number; md5: string; bytes: ArrayBuffer};

if (!parentPort) {
	throw new Error('part-hash-thread runs on a worker thread (see part-hasher.ts)');
}

const port = parentPort;
port.on('message', ({id, bytes, length}: PartHashJob) => {
	const md5 = createHash('md5').update(new Uint8Array(bytes, 0, length)).digest('hex');
	port.postMessage({id, md5, bytes} satisfies PartHashReply, [bytes]);
});
