/**
 * Checks parts off the main thread: one worker thread hashes each part the mount receives while
 * the event loop goes on answering FUSE and receiving the next part. A part's memory is moved to
 * the thread and back (transferred, not copied): parts are received into PartBuffers, which own
 * their memory whole. (Shared memory would stay referenced by the thread until its own garbage
 * collection, which a thread this idle hardly ever runs.)
 */
import {Worker} from 'node:worker_threads';
import type {PartHashJob, PartHashReply} from './part-hash-thread.js';

/** From source the thread registers tsx and imports the .ts beside this file; built, it is dist/source/part-hash-thread.js (build.ts). */
const fromSource = import.meta.url.endsWith('.ts');
const threadModule = new URL(fromSource ? './part-hash-thread.ts' : './part-hash-thread.js', import.meta.url);
const loadFromSource = `
const {workerData} = require('node:worker_threads');
(async () => {
	(await import(workerData.tsx)).register();
	await import(workerData.module);
})();
`;

export class PartHasher {
	#worker: Worker | undefined;
	#nextId = 0;
	readonly #waiting = new Map<number, {resolve: (result: {md5: string; bytes: Buffer}) => void; reject: (error: Error) => void; length: number}>();

	/**
	 * The md5 of a buffer from PartBuffers (its bytes start its memory). The buffer is unusable until
	 * this resolves (its memory is on the thread); it resolves with the same bytes in a new Buffer.
	 */
	async md5(bytes: Buffer): Promise<{md5: string; bytes: Buffer}> {
		const memory = bytes.buffer;
		if (bytes.byteOffset !== 0 || !(memory instanceof ArrayBuffer)) {
			throw new TypeError('parts to hash are PartBuffers');
		}

		const worker = this.#take();
		const id = this.#nextId++;
		const {length} = bytes;
		return new Promise((resolve, reject) => {
			this.#waiting.set(id, {resolve, reject, length});
			worker.postMessage({id, bytes: memory, length} satisfies PartHashJob, [memory]);
			// An idle thread does not keep the process alive; a busy one does until it answers.
			worker.ref();
		});
	}

	/** Starts the thread before the first part needs it (a remote file was opened): the first read does not wait for it to load. */
	warm(): void {
		const worker = this.#take();
		if (this.#waiting.size === 0) {
			worker.unref();
		}
	}

	async close(): Promise<void> {
		const worker = this.#worker;
		this.#worker = undefined;
		this.#failAll(new Error('part hashing stopped'));
		await worker?.terminate();
	}

	#take(): Worker {
		if (this.#worker) {
			return this.#worker;
		}

		const worker = fromSource
			? new Worker(loadFromSource, {eval: true, workerData: {tsx: import.meta.resolve('tsx/esm/api'), module: threadModule.href}})
			: new Worker(threadModule);
		worker.on('message', ({id, md5, bytes}: PartHashReply) => {
			const waiter = this.#waiting.get(id);
			this.#waiting.delete(id);
			waiter?.resolve({md5, bytes: Buffer.from(bytes, 0, waiter.length)});
			if (this.#waiting.size === 0) {
				worker.unref();
			}
		});
		const fail = (error: Error) => {
			if (this.#worker === worker) {
				this.#worker = undefined;
			}

			this.#failAll(error);
		};

		worker.on('error', fail);
		worker.on('exit', () => {
			fail(new Error('the part hashing thread stopped'));
		});
		this.#worker = worker;
		return worker;
	}

	#failAll(error: Error): void {
		for (const waiter of this.#waiting.values()) {
			waiter.reject(error);
		}

		this.#waiting.clear();
	}
}
