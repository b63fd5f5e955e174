/**
 * The end of a download's stream: a new file, written and hashed in the same pass (no
 * re-read). The main thread only copies each chunk into a shared ring buffer; a worker
 * thread hashes and writes it meanwhile, so on two cores receiving and hashing overlap
 * and the ring's memory is reused instead of becoming garbage. Dirty pages are flushed
 * in the background as the file grows, so the fsync before the rename only waits for the tail.
 */
import fs from 'node:fs/promises';
import {Writable} from 'node:stream';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';
import {Worker} from 'node:worker_threads';
import type * as EsbuildModule from 'esbuild';
import {aborted, consumed, controlSlots, ended, type HashingJob, type HashingReply, produced} from './hashing-ring.js';

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

/**
 * The hashing thread's module (hashing-thread.ts). Built, it is dist/source/hashing-thread.js
 * (build.ts). From source it is bundled once into plain JavaScript by esbuild, as build.ts bundles
 * it (and as tsx transpiles it): registering tsx in every thread, as the one share-dir thread does,
 * costs each new thread about 0.3 s and an esbuild process of its own, and a peer may start many.
 */
const fromSource = import.meta.url.endsWith('.ts');
const threadModule = new URL(fromSource ? './hashing-thread.ts' : './hashing-thread.js', import.meta.url);
let bundledThread: Promise<string> | undefined;

async function bundleThread(): Promise<string> {
	// Required by name at run time: the built programs never load esbuild (a devDependency).
	const esbuild = createRequire(import.meta.url)('esbuild') as typeof EsbuildModule;
	try {
		const {outputFiles} = await esbuild.build({
			entryPoints: [fileURLToPath(threadModule)], bundle: true, format: 'cjs', platform: 'node', target: 'node20', write: false, logLevel: 'silent',
		});
		return outputFiles[0]!.text;
	} finally {
		// Its service process is not needed again: nothing of it stays open.
		await esbuild.stop();
	}
}

async function startThread(): Promise<Worker> {
	if (!fromSource) {
		return new Worker(threadModule);
	}

	bundledThread ??= bundleThread();
	bundledThread.catch(() => {
		bundledThread = undefined;
	});
	return new Worker(await bundledThread, {eval: true});
}

/** Hashing threads kept for the next download: starting one takes tens of ms, taking an idle one nothing. */
const idleThreads: Worker[] = [];
const maxIdleThreads = 2;
let threadsStarted = 0;

/** How many hashing threads this process has started (they are reused between downloads). */
export function hashingThreadsStarted(): number {
	return threadsStarted;
}

/** An idle thread, or a new one once it has loaded its module. */
async function takeThread(): Promise<Worker> {
	const idle = idleThreads.pop();
	if (idle) {
		idle.ref();
		return idle;
	}

	const worker = await startThread();
	threadsStarted++;
	worker.once('exit', () => {
		const index = idleThreads.indexOf(worker);
		if (index !== -1) {
			idleThreads.splice(index, 1);
		}
	});
	try {
		await new Promise<void>((resolve, reject) => {
			const settle = (error?: Error) => {
				worker.off('message', onMessage);
				worker.off('error', settle);
				worker.off('exit', onExit);
				if (error) {
					reject(error);
				} else {
					resolve();
				}
			};

			const onMessage = (message: HashingReply) => {
				if (message.ready) {
					settle();
				}
			};

			const onExit = (code: number) => {
				settle(new Error(`the hashing thread exited with code ${code} before it was ready`));
			};

			worker.on('message', onMessage);
			worker.on('error', settle);
			worker.on('exit', onExit);
		});
	} catch (error) {
		await worker.terminate().catch(() => {});
		throw error;
	}

	return worker;
}

/** Ends the idle hashing threads (a stopping peer gives back what it holds); busy ones finish their file. */
export async function closeIdleHashingThreads(): Promise<void> {
	await Promise.all(idleThreads.splice(0).map(async worker => worker.terminate()));
}

/** An idle thread does not keep the process alive. */
function releaseThread(worker: Worker): void {
	if (idleThreads.length < maxIdleThreads) {
		worker.unref();
		idleThreads.push(worker);
	} else {
		void worker.terminate();
	}
}

export class HashingFileSink extends Writable {
	readonly #file: string;
	readonly #ringBytes: number;
	readonly #syncEveryBytes: number;
	readonly #onChunk: HashingSinkOptions['onChunk'];
	#handle: fs.FileHandle | undefined;
	/** Settles when the hashing thread is done with this file (and its fd). */
	#threadDone: Promise<void> = Promise.resolve();
	#ring!: Uint8Array;
	#state!: BigInt64Array;
	#received = 0;
	/** Bytes put in the ring, and as of the last wake-up of the thread. */
	#produced = 0;
	#notified = 0;
	#wakeBatch = 0;
	#syncedUpTo = 0;
	#backgroundSync: Promise<void> | undefined;
	#failure: Error | undefined;
	#result: Promise<string> | undefined;
	readonly #opened: Promise<void>;
	#markOpened!: (error?: Error) => void;
	#md5: string | undefined;

	/** Creates `file` exclusively (it must not exist). */
	constructor(file: string, {highWaterMark = 256 * 1024, ringBytes = 2 * 1024 * 1024, syncEveryBytes = 32 * 1024 * 1024, onChunk}: HashingSinkOptions = {}) {
		super({highWaterMark});
		this.#opened = new Promise((resolve, reject) => {
			this.#markOpened = error => {
				if (error) {
					reject(error);
				} else {
					resolve();
				}
			};
		});
		// A failure to open also fails the stream, where it is reported.
		this.#opened.catch(() => {});
		this.#file = file;
		this.#ringBytes = ringBytes;
		this.#syncEveryBytes = syncEveryBytes;
		this.#onChunk = onChunk;
	}

	/** Bytes received so far. */
	get bytes(): number {
		return this.#received;
	}

	/** Resolves once the file is open and a hashing thread is ready for it; a receiver sends its request then, so no byte waits for a thread to load. */
	async opened(): Promise<void> {
		return this.#opened;
	}

	/** The md5 of every byte written, once the stream has finished. */
	get md5(): string {
		if (this.#md5 === undefined) {
			throw new Error('the md5 is known once the stream has finished');
		}

		return this.#md5;
	}

	override _construct(done: (error?: Error | null) => void): void {
		const callback = (error?: Error) => {
			this.#markOpened(error);
			done(error);
		};

		// The file is opened while a thread is taken (or started and loaded).
		void Promise.allSettled([fs.open(this.#file, 'wx'), takeThread()]).then(([opened, taken]) => {
			if (opened.status === 'rejected' || taken.status === 'rejected') {
				if (opened.status === 'fulfilled') {
					void opened.value.close().catch(() => {});
				}

				if (taken.status === 'fulfilled') {
					releaseThread(taken.value);
				}

				callback((opened.status === 'rejected' ? opened.reason : (taken as PromiseRejectedResult).reason) as Error);
				return;
			}

			const handle = opened.value;
			const worker = taken.value;
			this.#handle = handle;
			const ring = new SharedArrayBuffer(this.#ringBytes);
			const control = new SharedArrayBuffer(controlSlots * BigInt64Array.BYTES_PER_ELEMENT);
			this.#ring = new Uint8Array(ring);
			this.#wakeBatch = Math.max(1, Math.floor(this.#ringBytes / 4));
			this.#state = new BigInt64Array(control);
			let threadDone!: () => void;
			this.#threadDone = new Promise(resolve => {
				threadDone = resolve;
			});
			this.#result = new Promise<string>((resolve, reject) => {
				// The job is over: the thread no longer touches the fd. A thread that failed is not reused.
				const finish = async (reusable: boolean) => {
					worker.off('message', onMessage);
					worker.off('error', onError);
					worker.off('exit', onExit);
					if (reusable) {
						releaseThread(worker);
					} else {
						await worker.terminate().catch(() => {});
					}

					threadDone();
				};

				const onMessage = (message: HashingReply) => {
					if (message.md5) {
						void finish(true);
						resolve(message.md5);
						return;
					}

					this.#failure ??= message.aborted
						? new Error('hashing stopped')
						: Object.assign(new Error(message.error?.message ?? 'hashing thread failed'), {code: message.error?.code});
					void finish(Boolean(message.aborted));
					reject(this.#failure);
				};

				const onError = (error: Error) => {
					this.#failure = error;
					void finish(false);
					reject(error);
				};

				const onExit = () => {
					this.#failure ??= new Error('hashing thread stopped');
					void finish(false);
					reject(this.#failure);
				};

				worker.on('message', onMessage);
				worker.on('error', onError);
				worker.on('exit', onExit);
			});
			// Settled by _final or ignored when the stream is destroyed first.
			this.#result.catch(() => {});
			const job: HashingJob = {fd: handle.fd, ring, control};
			worker.postMessage(job);
			callback();
		});
	}

	/** Copies the chunk into the ring: synchronously while there is room, after the hashing thread frees some when it is full. */
	override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
		this.#received += chunk.length;
		const refused = this.#onChunk?.(chunk, this.#received);
		if (refused) {
			callback(refused);
			return;
		}

		this.#copy(chunk, 0, callback);
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

		// The thread writes through this fd: close it only once the thread is done with it.
		const handle = this.#handle;
		this.#handle = undefined;
		Promise.all([this.#threadDone, this.#backgroundSync])
			.then(async () => handle?.close())
			.then(() => {
				callback(error);
			}, (closeError: unknown) => {
				callback(error ?? closeError as Error);
			});
	}

	#copy(chunk: Buffer, offset: number, callback: (error?: Error | null) => void): void {
		while (offset < chunk.length) {
			if (this.#failure) {
				callback(this.#failure);
				return;
			}

			offset = this.#take(chunk, offset);
			if (offset < chunk.length) {
				void this.#room().then(() => {
					this.#copy(chunk, offset, callback);
				});
				return;
			}
		}

		this.#syncInBackground();
		callback();
	}

	/** Resolves once the hashing thread has freed room in the ring, or has failed. */
	async #room(): Promise<void> {
		const done = Atomics.load(this.#state, consumed);
		if (this.#failure || this.#produced - Number(done) < this.#ring.length) {
			return;
		}

		// The thread notifies after each write; the timeout only bounds a wait on a thread that died.
		const wait = waitAsync(this.#state, consumed, done, 200);
		if (wait.async) {
			await wait.value;
		}
	}

	/**
	 * Copies into the ring what fits now of `bytes` from `from` on, and returns where it stopped;
	 * wakes the thread per batch, and when the ring is full. Counts in numbers (exact up to 2^53
	 * bytes) and allocates nothing but the BigInt the control array takes.
	 */
	#take(bytes: Buffer, from: number): number {
		const capacity = this.#ring.length;
		let offset = from;
		while (offset < bytes.length) {
			const free = capacity - (this.#produced - Number(Atomics.load(this.#state, consumed)));
			if (free === 0) {
				break;
			}

			const start = this.#produced % capacity;
			const length = Math.min(free, bytes.length - offset, capacity - start);
			// The thread reads only below `produced`: this span is the main thread's until the store below.
			bytes.copy(this.#ring, start, offset, offset + length);
			offset += length;
			this.#produced += length;
			Atomics.store(this.#state, produced, BigInt(this.#produced));
		}

		// Wake the thread per batch, not per chunk: fewer context switches, larger hash and write calls.
		if (this.#produced - this.#notified >= this.#wakeBatch || (offset < bytes.length && this.#produced !== this.#notified)) {
			this.#notified = this.#produced;
			Atomics.notify(this.#state, produced);
		}

		return offset;
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
