/**
 * The end of a download's stream: writes each chunk to a new file and hashes it in the
 * same pass (no re-read), with one stream stage instead of a hashing Transform plus a
 * file stream. Dirty pages are flushed in the background as the file grows, so the
 * fsync before the file can be renamed into place only waits for the tail.
 */
import {createHash} from 'node:crypto';
import fs from 'node:fs/promises';
import {Writable} from 'node:stream';

export type HashingSinkOptions = {
	/** Bytes buffered before the source is paused. */
	highWaterMark?: number;
	/** Start a background fdatasync each time this many more bytes were written. */
	syncEveryBytes?: number;
	/** Sees every chunk (and the running total) before it is hashed and written; an Error returned fails the stream. */
	onChunk?: (chunk: Buffer, total: number) => Error | undefined;
};

export class HashingFileSink extends Writable {
	readonly #file: string;
	readonly #hash = createHash('md5');
	readonly #syncEveryBytes: number;
	readonly #onChunk: HashingSinkOptions['onChunk'];
	#handle: fs.FileHandle | undefined;
	#received = 0;
	#written = 0;
	#syncedUpTo = 0;
	#backgroundSync: Promise<void> | undefined;
	#syncError: Error | undefined;
	#md5: string | undefined;

	/** Creates `file` exclusively (it must not exist). */
	constructor(file: string, {highWaterMark = 256 * 1024, syncEveryBytes = 32 * 1024 * 1024, onChunk}: HashingSinkOptions = {}) {
		super({highWaterMark});
		this.#file = file;
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
			callback();
		}, callback);
	}

	override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
		this.#writeAll([chunk]).then(() => {
			callback();
		}, callback);
	}

	override _writev(chunks: Array<{chunk: Buffer}>, callback: (error?: Error | null) => void): void {
		this.#writeAll(chunks.map(({chunk}) => chunk)).then(() => {
			callback();
		}, callback);
	}

	override _final(callback: (error?: Error | null) => void): void {
		this.#finish().then(() => {
			callback();
		}, callback);
	}

	override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
		const handle = this.#handle;
		this.#handle = undefined;
		const pending = this.#backgroundSync ?? Promise.resolve();
		pending.then(async () => handle?.close()).then(() => {
			callback(error);
		}, (closeError: unknown) => {
			callback(error ?? closeError as Error);
		});
	}

	async #writeAll(chunks: Buffer[]): Promise<void> {
		for (const chunk of chunks) {
			this.#received += chunk.length;
			const refused = this.#onChunk?.(chunk, this.#received);
			if (refused) {
				throw refused;
			}

			this.#hash.update(chunk);
		}

		let pending = chunks;
		while (pending.length > 0) {
			const {bytesWritten} = await this.#handle!.writev(pending, this.#written);
			this.#written += bytesWritten;
			pending = dropBytes(pending, bytesWritten);
		}

		if (this.#written - this.#syncedUpTo >= this.#syncEveryBytes && !this.#backgroundSync) {
			const upTo = this.#written;
			this.#backgroundSync = this.#handle!.datasync().then(() => {
				this.#syncedUpTo = upTo;
				this.#backgroundSync = undefined;
			}, (error: unknown) => {
				this.#syncError = error as Error;
				this.#backgroundSync = undefined;
			});
		}
	}

	async #finish(): Promise<void> {
		await this.#backgroundSync;
		if (this.#syncError) {
			throw this.#syncError;
		}

		await this.#handle!.sync();
		this.#md5 = this.#hash.digest('hex');
	}
}

/** The chunks left once the first `count` bytes are gone (a partial writev). */
function dropBytes(chunks: Buffer[], count: number): Buffer[] {
	let skip = count;
	let index = 0;
	while (index < chunks.length && skip >= chunks[index]!.length) {
		skip -= chunks[index]!.length;
		index++;
	}

	const rest = chunks.slice(index);
	if (rest.length > 0 && skip > 0) {
		rest[0] = rest[0]!.subarray(skip);
	}

	return rest;
}
