/**
 * A file created through the mount: written once, under .xfs/ in the share dir (never listed nor
 * served there), and when it is closed, hashed, placed in the share dir beside the others and
 * handed back to be published. Until then only the handle that created it writes to it.
 */
import {randomBytes} from 'node:crypto';
import {constants} from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import md5File from 'md5-file';
import type {FileEntry} from '../common/wire.js';
import {placeFile} from '../share/place-file.js';
import {partialDir} from '../share/share-dir.js';

export class NewFile {
	/** Creates the temp file of `name` (it must not exist yet). */
	static async create(shareDir: string, name: string): Promise<NewFile> {
		const tempPath = path.join(partialDir(shareDir), `${name}.${randomBytes(6).toString('hex')}.new`);
		const handle = await fs.open(tempPath, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
		return new NewFile(shareDir, name, tempPath, handle);
	}

	readonly name: string;
	readonly createdAt = Date.now();
	readonly #shareDir: string;
	readonly #tempPath: string;
	readonly #handle: fs.FileHandle;
	#size = 0;
	#closed = false;

	private constructor(shareDir: string, name: string, tempPath: string, handle: fs.FileHandle) {
		this.#shareDir = shareDir;
		this.name = name;
		this.#tempPath = tempPath;
		this.#handle = handle;
	}

	get size(): number {
		return this.#size;
	}

	async write(bytes: Buffer, position: number): Promise<number> {
		for (let written = 0; written < bytes.length;) {
			const {bytesWritten} = await this.#handle.write(bytes, written, bytes.length - written, position + written);
			if (bytesWritten === 0) {
				throw Object.assign(new Error(`no space left writing ${this.#tempPath}`), {code: 'ENOSPC'});
			}

			written += bytesWritten;
		}

		this.#size = Math.max(this.#size, position + bytes.length);
		return bytes.length;
	}

	async truncate(size: number): Promise<void> {
		await this.#handle.truncate(size);
		this.#size = size;
	}

	/** The bytes so far reach the disk: a close(2) that returns 0 means they are there. */
	async flush(): Promise<void> {
		if (!this.#closed) {
			await this.#handle.datasync();
		}
	}

	/** Closes it, hashes it (at rest now, with md5-file) and links it into the share dir: never over a file that is there. */
	async place(): Promise<FileEntry> {
		await this.#close();
		const md5 = await md5File(this.#tempPath);
		const {size} = await fs.stat(this.#tempPath);
		await placeFile(this.#tempPath, path.join(this.#shareDir, this.name));
		return {name: this.name, md5, size};
	}

	async discard(): Promise<void> {
		await this.#close();
		await fs.rm(this.#tempPath, {force: true});
	}

	async #close(): Promise<void> {
		if (!this.#closed) {
			this.#closed = true;
			await this.#handle.sync();
			await this.#handle.close();
		}
	}
}
