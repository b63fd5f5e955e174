/**
 * The end of a download's stream: a new file, written and hashed in the same pass (no
 * re-read). The main thread only copies each chunk into a shared ring buffer; a worker
 * thread hashes and writes it meanwhile, so on two cores receiving and hashing overlap
 * and the ring's memory is reused instead of becoming garbage. Dirty pages are flushed
 * in the background as the file grows, so the fsync before the rename only waits for the tail.
 */
import fs from 'node:fs/promises';
import {Writable} from 'node:stream';
import {Worker} from 'node:worker_threads';

export type HashingSinkOptions = {
	/** Bytes buffered in the stream before the source is paused (the ring buffer comes after). */
	highWaterMark?: number;
	/** Size of the ring buffer shared with the hashing thread. */
	ringBytes?: number;
	/** Start a background fdatasync each time this many more bytes were written. */
	syncEveryBytes?: number;
	/** Sees every chunk (and the running total) before it is hashed and written; an Error returned fails the stream. */
	onChunk?: (chunk: Buffer, total: number) => Error | undefined;
};

type WaitAsync = (array: BigInt64Array, index: number, value: bigint, timeoutMs: number) => {async: boolean; value: Promise<string> | string};
/** Atomics.waitAsync is in Node 16+ but not in the ES2022 lib this project compiles against. */
const waitAsync = (Atomics as unknown as {waitAsync: WaitAsync}).waitAsync.bind(Atomics);

/** Slots of the shared control array. */
const produced = 0;
const consumed = 1;
const ended = 2;
const aborted = 3;

/** The hashing thread: plain JavaScript, so it runs the same from source (tsx) and from dist. */
const hashingThread = `
const {parentPort, workerData} = require('node:worker_threads');
const {createHash} = require('node:crypto');
const {fsyncSync, writeSync} = require('node:fs');
const {fd, ring, control} = workerData;
const bytes = new Uint8Array(ring);
const state = new BigInt64Array(control);
const hash = createHash('md5');
let done = 0n;
try {
	for (;;) {
		if (Atomics.load(state, ${aborted}) !== 0n) {
			break;
		}

		const available = Atomics.load(state, ${produced});
		if (available === done) {
			if (Atomics.load(state, ${ended}) !== 0n) {
				fsyncSync(fd);
				parentPort.postMessage({md5: hash.digest('hex')});
				break;
			}

			Atomics.wait(state, ${produced}, done, 1000);
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
		Atomics.store(state, ${consumed}, done);
		Atomics.notify(state, ${consumed});
	}
} catch (error) {
	parentPort.postMessage({error: {message: error.message, code: error.code}});
}
`;

export class HashingFileSink extends Writable {
	readonly #file: string;
	readonly #ringBytes: number;
	readonly #syncEveryBytes: number;
	readonly #onChunk: HashingSinkOptions['onChunk'];
	#handle: fs.FileHandle | undefined;
	#workerExited: Promise<void> = Promise.resolve();
	#ring!: Uint8Array;
	#state!: BigInt64Array;
	#received = 0;
	#produced = 0n;
	#notified = 0n;
	#wakeBatch = 0n;
	#syncedUpTo = 0;
	#backgroundSync: Promise<void> | undefined;
	#failure: Error | undefined;
	#result: Promise<string> | undefined;
	#md5: string | undefined;

	/** Creates `file` exclusively (it must not exist). */
	constructor(file: string, {highWaterMark = 256 * 1024, ringBytes = 2 * 1024 * 1024, syncEveryBytes = 32 * 1024 * 1024, onChunk}: HashingSinkOptions = {}) {
		super({highWaterMark});
		this.#file = file;
		this.#ringBytes = ringBytes;
		this.#syncEveryBytes = syncEveryBytes;
		this.#onChunk = onChunk;
	}

	/** Bytes received so far. */
	get bytes(): number {
		return this.#received;
	}

	/** The md5 of every byte written, once the stream has finished. */
	get md5(): string {
		if (this.#md5 === undefined) {
			throw new Error('the md5 is known once the stream has finished');
		}

		return this.#md5;
	}

	override _construct(callback: (error?: Error | null) => void): void {
		fs.open(this.#file, 'wx').then(handle => {
			this.#handle = handle;
			const ring = new SharedArrayBuffer(this.#ringBytes);
			const control = new SharedArrayBuffer(4 * BigInt64Array.BYTES_PER_ELEMENT);
			this.#ring = new Uint8Array(ring);
			this.#wakeBatch = BigInt(Math.max(1, Math.floor(this.#ringBytes / 4)));
			this.#state = new BigInt64Array(control);
			let worker: Worker;
			try {
				worker = new Worker(hashingThread, {eval: true, workerData: {fd: handle.fd, ring, control}});
			} catch (error) {
				this.#handle = undefined;
				void handle.close().catch(() => {});
				callback(error as Error);
				return;
			}

			this.#result = new Promise<string>((resolve, reject) => {
				let hashed = false;
				worker.on('message', (message: {md5?: string; error?: {message: string; code?: string}}) => {
					if (message.md5) {
						hashed = true;
						resolve(message.md5);
					} else {
						this.#failure = Object.assign(new Error(message.error?.message ?? 'hashing thread failed'), {code: message.error?.code});
						reject(this.#failure);
					}
				});
				worker.once('error', error => {
					this.#failure = error;
					reject(error);
				});
				worker.once('exit', () => {
					if (!hashed) {
						this.#failure ??= new Error('hashing thread stopped');
						reject(this.#failure);
					}
				});
			});
			// Settled by _final or ignored when the stream is destroyed first.
			this.#result.catch(() => {});
			this.#workerExited = new Promise(resolve => {
				worker.once('exit', () => {
					resolve();
				});
			});
			callback();
		}, callback);
	}

	override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
		this.#put([chunk], callback);
	}

	override _writev(chunks: Array<{chunk: Buffer}>, callback: (error?: Error | null) => void): void {
		this.#put(chunks.map(({chunk}) => chunk), callback);
	}

	override _final(callback: (error?: Error | null) => void): void {
		Atomics.store(this.#state, ended, 1n);
		Atomics.notify(this.#state, produced);
		Promise.all([this.#result!, this.#backgroundSync]).then(([md5]) => {
			this.#md5 = md5;
			callback();
		}).catch((error: unknown) => {
			callback(error as Error);
		});
	}

	override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
		if (this.#state && this.#md5 === undefined) {
			Atomics.store(this.#state, aborted, 1n);
			Atomics.notify(this.#state, produced);
		}

		// The thread writes through this fd: close it only once the thread is gone.
		const handle = this.#handle;
		this.#handle = undefined;
		Promise.all([this.#workerExited, this.#backgroundSync])
			.then(async () => handle?.close())
			.then(() => {
				callback(error);
			}, (closeError: unknown) => {
				callback(error ?? closeError as Error);
			});
	}

	/** Copies chunks into the ring; synchronous while there is room, waiting for the hashing thread when it is full. */
	#put(chunks: Buffer[], callback: (error?: Error | null) => void): void {
		for (const chunk of chunks) {
			this.#received += chunk.length;
			const refused = this.#onChunk?.(chunk, this.#received);
			if (refused) {
				callback(refused);
				return;
			}
		}

		this.#copy(chunks, 0, 0, callback);
	}

	#copy(chunks: Buffer[], index: number, offset: number, callback: (error?: Error | null) => void): void {
		const capacity = this.#ring.length;
		for (; index < chunks.length; index++, offset = 0) {
			const chunk = chunks[index]!;
			while (offset < chunk.length) {
				if (this.#failure) {
					callback(this.#failure);
					return;
				}

				const done = Atomics.load(this.#state, consumed);
				const free = capacity - Number(this.#produced - done);
				if (free === 0) {
					const resume = () => {
						this.#copy(chunks, index, offset, callback);
					};

					// The thread notifies after each write; the timeout only bounds a wait on a thread that died.
					const wait = waitAsync(this.#state, consumed, done, 200);
					if (wait.async) {
						void (wait.value as Promise<string>).then(resume);
					} else {
						queueMicrotask(resume);
					}

					return;
				}

				const start = Number(this.#produced % BigInt(capacity));
				const length = Math.min(free, chunk.length - offset, capacity - start);
				this.#ring.set(chunk.subarray(offset, offset + length), start);
				offset += length;
				this.#produced += BigInt(length);
				Atomics.store(this.#state, produced, this.#produced);
				// Wake the thread per batch, not per chunk: fewer context switches, larger hash and write calls.
				if (this.#produced - this.#notified >= this.#wakeBatch) {
					this.#notified = this.#produced;
					Atomics.notify(this.#state, produced);
				}
			}
		}

		this.#syncInBackground();
		callback();
	}

	#syncInBackground(): void {
		const written = Number(Atomics.load(this.#state, consumed));
		if (written - this.#syncedUpTo < this.#syncEveryBytes || this.#backgroundSync || !this.#handle) {
			return;
		}

		this.#backgroundSync = this.#handle.datasync().then(() => {
			this.#syncedUpTo = written;
			this.#backgroundSync = undefined;
		}, () => {
			// A failing disk shows again in the final fsync, which fails the download.
			this.#backgroundSync = undefined;
		});
	}
}
