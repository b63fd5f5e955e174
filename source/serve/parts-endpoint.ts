/** GET /files/:name/parts: the md5 of each part of a shared file, hashed once per version of the file and kept in memory. */
import {createHash} from 'node:crypto';
import type {FileHandle} from 'node:fs/promises';
import type {RequestHandler} from 'express';
import {sendError} from '../common/express-json.js';
import type {OpenShared} from '../share/share-dir.js';
import {parseFileName, type PartsReply} from '../common/wire.js';

/** Versions of files whose parts are remembered; the oldest is forgotten first. */
const maxCachedFiles = 1024;

/** Part md5s by (name, size, mtime, inode): a file changed in place gets a new entry. */
export class PartsCache {
	readonly #entries = new Map<string, Promise<string[]>>();
	readonly #keyOfName = new Map<string, string>();

	/** The part md5s of an opened file; concurrent requests for the same version share one hashing pass. */
	async md5s(name: string, handle: FileHandle, partSize: number): Promise<string[]> {
		const stats = await handle.stat();
		const key = `${name}\0${stats.size}\0${stats.mtimeMs}\0${stats.ino}\0${partSize}`;
		let entry = this.#entries.get(key);
		if (!entry) {
			const previous = this.#keyOfName.get(name);
			if (previous !== undefined) {
				this.#entries.delete(previous);
			}

			entry = hashParts(handle, stats.size, partSize);
			this.#entries.set(key, entry);
			this.#keyOfName.set(name, key);
			if (this.#entries.size > maxCachedFiles) {
				this.#entries.delete(this.#entries.keys().next().value!);
			}

			entry.catch(() => {
				this.#forget(name, key);
			});
		}

		const md5s = await entry;
		const after = await handle.stat();
		if (after.size !== stats.size || after.mtimeMs !== stats.mtimeMs) {
			this.#forget(name, key);
			throw new Error(`${name} changed while its parts were hashed`);
		}

		return md5s;
	}

	#forget(name: string, key: string): void {
		this.#entries.delete(key);
		if (this.#keyOfName.get(name) === key) {
			this.#keyOfName.delete(name);
		}
	}
}

/** Reads the file once, front to back, closing one md5 at every part boundary. */
export async function hashParts(handle: FileHandle, size: number, partSize: number): Promise<string[]> {
	const md5s: string[] = [];
	let hash = createHash('md5');
	let inPart = 0;
	for await (const chunk of handle.createReadStream({start: 0, end: Math.max(0, size - 1), highWaterMark: 1024 * 1024, autoClose: false}) as AsyncIterable<Buffer>) {
		let offset = 0;
		while (offset < chunk.length) {
			const take = Math.min(chunk.length - offset, partSize - inPart);
			hash.update(chunk.subarray(offset, offset + take));
			offset += take;
			inPart += take;
			if (inPart === partSize) {
				md5s.push(hash.digest('hex'));
				hash = createHash('md5');
				inPart = 0;
			}
		}
	}

	if (inPart > 0) {
		md5s.push(hash.digest('hex'));
	}

	return md5s;
}

/** Same path rules as GET /files/:name: only a regular, non-hidden file directly in the share dir. */
export function partsHandler({open, partSize, cache}: {open: (name: string) => Promise<OpenShared | 'stale' | undefined>; partSize: number; cache: PartsCache}): RequestHandler {
	return async (request, response) => {
		const name = parseFileName(request.params.name);
		const opened = await open(name);
		if (!opened || opened === 'stale') {
			sendError(response, 'NOT_FOUND', opened ? `${name} changed since it was listed here; it is being hashed again` : `no file "${name}" here`);
			return;
		}

		try {
			const md5s = await cache.md5s(name, opened.handle, partSize);
			response.json({name, size: opened.size, partSize, md5s} satisfies PartsReply);
		} catch (error) {
			sendError(response, 'INTERNAL', (error as Error).message);
		} finally {
			await opened.handle.close().catch(() => {});
		}
	};
}
