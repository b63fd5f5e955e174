/**
 * The on-disk state of a multi-source download: one file filled in place at each verified
 * part's offset, and a small record of the verified byte spans, replaced atomically after each part.
 * A restarted download re-checks the recorded parts against the parts list before reusing them.
 */
import {createHash} from 'node:crypto';
import {constants} from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import {addSpan, partSpan, partsWithin, type ByteSpan} from '../core/part-geometry.js';
import type {PartsManifest} from '../core/manifest-vote.js';
import {placeFile} from './place-file.js';
import {exists, partialDir, resumableDataName, resumableDir, resumableDirPattern, resumableStateName} from './share-dir.js';

/** Parts kept in memory ahead of the hashed prefix. */
const maxHeldParts = 8;
const readBackBytes = 1024 * 1024;

type SavedState = {name: string; md5: string; size: number; verified: Array<[number, number]>};

/** Bytes of one version of a file already verified on disk by an interrupted multi-source download (0 when none). */
export async function resumableBytes(shareDir: string, file: {name: string; md5: string; size: number}): Promise<number> {
	const saved = await readState(path.join(resumableDir(shareDir, file.name, file.md5), resumableStateName));
	if (saved?.name !== file.name || saved.md5 !== file.md5 || saved.size !== file.size) {
		return 0;
	}

	return saved.verified.reduce((total, [start, end]) => total + end - start, 0);
}

export async function hasResumableParts(shareDir: string, name: string, md5: string): Promise<boolean> {
	return exists(path.join(resumableDir(shareDir, name, md5), resumableStateName));
}

export class PartStore {
	/**
	 * Opens (or starts) the resumable state of one version of a file; other versions' state of the same name is dropped.
	 * With `hashWhole: false` the whole file's md5 is left to the caller (the mount hashes it once every part is in, off the read path).
	 */
	static async open(shareDir: string, file: {name: string; md5: string; size: number}, {hashWhole = true}: {hashWhole?: boolean} = {}): Promise<PartStore> {
		const partial = partialDir(shareDir);
		for (const entry of await fs.readdir(partial).catch(() => [] as string[])) {
			const match = resumableDirPattern.exec(entry);
			if (match?.[1] === file.name && match[2] !== file.md5) {
				await fs.rm(path.join(partial, entry), {recursive: true, force: true});
			}
		}

		const dir = resumableDir(shareDir, file.name, file.md5);
		// Not recursive: the partial folder exists, and a recursive mkdir reports EROFS as ENOENT.
		await fs.mkdir(dir).catch((error: unknown) => {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
				throw error;
			}
		});
		const saved = await readState(path.join(dir, resumableStateName));
		const verified = saved?.name === file.name && saved.md5 === file.md5 && saved.size === file.size
			? saved.verified.map(([start, end]) => ({start, end}))
			: [];
		const handle = await fs.open(path.join(dir, resumableDataName), constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
		// A sparse file of the final size: parts land at their own offsets in any order.
		await handle.truncate(file.size);
		const store = new PartStore(dir, handle, file, verified);
		store.#hashWhole = hashWhole;
		return store;
	}

	readonly dir: string;
	readonly #handle: fs.FileHandle;
	readonly #file: {name: string; md5: string; size: number};
	#verified: ByteSpan[];
	#saving: Promise<void> = Promise.resolve();
	/** The whole file's md5, fed in file order as the verified prefix grows. */
	readonly #whole = createHash('md5');
	#hashedTo = 0;
	/** Verified parts past the hashed prefix, kept until the prefix reaches them (beyond the cap they are read back). */
	readonly #held = new Map<number, Buffer>();
	#hashing: Promise<void> = Promise.resolve();
	#hashWhole = true;

	private constructor(dir: string, handle: fs.FileHandle, file: {name: string; md5: string; size: number}, verified: ByteSpan[]) {
		this.dir = dir;
		this.#handle = handle;
		this.#file = file;
		this.#verified = verified;
	}

	get dataPath(): string {
		return path.join(this.dir, resumableDataName);
	}

	/**
	 * The parts, under this manifest, that an earlier run already wrote: each is read back and
	 * kept only if it matches its md5. The record is rewritten to hold exactly those.
	 */
	async reusableParts(manifest: PartsManifest): Promise<number[]> {
		const reusable: number[] = [];
		let verified: ByteSpan[] = [];
		for (const index of partsWithin(this.#verified, this.#file.size, manifest.partSize)) {
			const span = partSpan(index, this.#file.size, manifest.partSize);
			const bytes = Buffer.alloc(span.end - span.start);
			const {bytesRead} = await this.#handle.read(bytes, 0, bytes.length, span.start);
			if (bytesRead === bytes.length && createHash('md5').update(bytes).digest('hex') === manifest.md5s[index]) {
				reusable.push(index);
				verified = addSpan(verified, span);
			}
		}

		this.#verified = verified;
		await this.#save();
		return reusable;
	}

	/**
	 * Writes a verified part at its offset and records it, only once every byte is written and
	 * flushed: a short write (a disk that filled up) is an error, never a part on record with holes.
	 */
	async write(span: ByteSpan, bytes: Buffer): Promise<void> {
		for (let written = 0; written < bytes.length;) {
			const {bytesWritten} = await this.#handle.write(bytes, written, bytes.length - written, span.start + written);
			if (bytesWritten === 0) {
				throw Object.assign(new Error(`no space left writing ${this.dataPath} at ${span.start + written}`), {code: 'ENOSPC'});
			}

			written += bytesWritten;
		}

		await this.#handle.datasync();
		this.#verified = addSpan(this.#verified, span);
		if (!this.#hashWhole) {
			await this.#save();
			return;
		}

		if (span.start === this.#hashedTo || (span.start > this.#hashedTo && this.#held.size < maxHeldParts)) {
			this.#held.set(span.start, bytes);
		}

		await Promise.all([this.#save(), this.#advanceHash()]);
	}

	/** Flushes the file and checks the whole of it against the md5 the tracker gave (not with `hashWhole: false`). */
	async matchesWhole(md5: string): Promise<boolean> {
		if (!this.#hashWhole) {
			throw new Error('this part store does not hash the whole file');
		}

		await this.#handle.sync();
		await this.#advanceHash();
		return this.#hashedTo === this.#file.size && this.#whole.digest('hex') === md5;
	}

	/** Hashes the verified prefix as far as it reaches: from memory where the part is held, from the file otherwise. */
	async #advanceHash(): Promise<void> {
		const run = this.#hashing.then(async () => {
			for (;;) {
				const span = this.#verified.find(candidate => candidate.start <= this.#hashedTo && this.#hashedTo < candidate.end);
				if (!span) {
					return;
				}

				const held = this.#held.get(this.#hashedTo);
				if (held && this.#hashedTo + held.length <= span.end) {
					this.#feed(held);
					continue;
				}

				const nextHeld = Math.min(...[...this.#held.keys()].filter(start => start > this.#hashedTo));
				const length = Math.min(span.end - this.#hashedTo, readBackBytes, nextHeld - this.#hashedTo);
				const bytes = Buffer.alloc(length);
				const {bytesRead} = await this.#handle.read(bytes, 0, length, this.#hashedTo);
				if (bytesRead !== length) {
					throw new Error(`short read of ${this.dataPath} at ${this.#hashedTo}`);
				}

				this.#feed(bytes);
			}
		});
		this.#hashing = run;
		return run;
	}

	#feed(bytes: Buffer): void {
		this.#whole.update(bytes);
		this.#hashedTo += bytes.length;
		for (const start of this.#held.keys()) {
			if (start < this.#hashedTo) {
				this.#held.delete(start);
			}
		}
	}

	/** Links the finished file into place (never over an existing one) and removes the state. */
	async placeInto(finalPath: string): Promise<void> {
		await this.close();
		await placeFile(this.dataPath, finalPath);
		await this.discard();
	}

	async discard(): Promise<void> {
		await this.close();
		await fs.rm(this.dir, {recursive: true, force: true});
	}

	async close(): Promise<void> {
		await this.#saving.catch(() => {});
		await this.#handle.close().catch(() => {});
	}

	/** Saves are chained so the record on disk only ever moves forward. */
	async #save(): Promise<void> {
		const state: SavedState = {...this.#file, verified: this.#verified.map(span => [span.start, span.end])};
		const target = path.join(this.dir, resumableStateName);
		const run = this.#saving.catch(() => {}).then(async () => {
			await fs.writeFile(`${target}.tmp`, JSON.stringify(state));
			await fs.rename(`${target}.tmp`, target);
		});
		this.#saving = run;
		return run;
	}
}

async function readState(file: string): Promise<SavedState | undefined> {
	try {
		const state = JSON.parse(await fs.readFile(file, 'utf8')) as SavedState;
		const spansOk = Array.isArray(state.verified) && state.verified.every(span =>
			Array.isArray(span) && span.length === 2 && Number.isSafeInteger(span[0]) && Number.isSafeInteger(span[1]) && span[0] >= 0 && span[0] < span[1] && span[1] <= state.size);
		return spansOk ? state : undefined;
	} catch {
		return undefined;
	}
}
