/**
 * The last list of shared files a scan made, remembered with a digest of what it was made
 * from: each listed file's name, size, mtime and inode, in directory order. A restart that
 * finds the same files with the same stamps sends that list as it is, without reading the
 * hash cache or building an entry per file. Anything else (a file added, removed, touched,
 * or listed in another order; a damaged or foreign file) is a miss, and the scan takes its
 * ordinary path through the hash cache. Kept in the hidden state folder, never served.
 *
 * The digest is pure; loading and saving are the two functions at the bottom.
 */
import {createHash} from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {writeFileAtomically} from './atomic-write.js';
import type {FileStamp} from './hash-cache.js';

export const listingCacheFileName = 'listing';
/** First line of the file; a file with any other first line is not a listing of this version. */
const formatLine = 'xfs-listing 1';

/** The regular files of a share dir as a scan found them, in the order the directory listed them. */
export class DirStamps {
	readonly #names: string[] = [];
	/** size, mtimeMs, ino of each file, three numbers per name: hashed as raw bytes, never formatted. */
	#stamps = new Float64Array(3 * 1024);
	#newestMtimeMs = Number.NEGATIVE_INFINITY;

	add(name: string, {size, mtimeMs, ino}: FileStamp): void {
		const at = 3 * this.#names.length;
		if (at + 3 > this.#stamps.length) {
			const grown = new Float64Array(this.#stamps.length * 2);
			grown.set(this.#stamps);
			this.#stamps = grown;
		}

		this.#names.push(name);
		this.#stamps[at] = size;
		this.#stamps[at + 1] = mtimeMs;
		this.#stamps[at + 2] = ino;
		this.#newestMtimeMs = Math.max(this.#newestMtimeMs, mtimeMs);
	}

	get count(): number {
		return this.#names.length;
	}

	/** The latest mtime among the files (-Infinity when there are none). */
	get newestMtimeMs(): number {
		return this.#newestMtimeMs;
	}

	/** Each file's name and stamp, in the order they were added. */
	* entries(): Generator<[string, FileStamp]> {
		for (const [index, name] of this.#names.entries()) {
			const at = 3 * index;
			yield [name, {size: this.#stamps[at]!, mtimeMs: this.#stamps[at + 1]!, ino: this.#stamps[at + 2]!}];
		}
	}

	/** md5 over the format, the names (a '/' cannot occur in one), the stamps and the list text. */
	digest(listJson: string): string {
		return createHash('md5')
			.update(`${formatLine}\n${this.#names.join('/')}\n`)
			.update(new Uint8Array(this.#stamps.buffer, 0, 3 * 8 * this.#names.length))
			.update(listJson)
			.digest('hex');
	}
}

/** The file's text: the format line, the digest, then the list (JSON text of its entries). */
export function serializeListing(stamps: DirStamps, listJson: string): string {
	return `${formatLine}\n${stamps.digest(listJson)}\n${listJson}`;
}

/** The saved list's JSON text when it was made from exactly these files and stamps; otherwise undefined. */
export function matchListing(text: string, stamps: DirStamps): string | undefined {
	const formatEnd = text.indexOf('\n');
	const digestEnd = text.indexOf('\n', formatEnd + 1);
	if (formatEnd === -1 || digestEnd === -1 || text.slice(0, formatEnd) !== formatLine) {
		return undefined;
	}

	const listJson = text.slice(digestEnd + 1);
	return stamps.digest(listJson) === text.slice(formatEnd + 1, digestEnd) ? listJson : undefined;
}

/** The saved listing's text; undefined when there is none or it cannot be read. */
export async function loadListing(stateDir: string): Promise<string | undefined> {
	try {
		return await fs.readFile(path.join(stateDir, listingCacheFileName), 'utf8');
	} catch {
		return undefined;
	}
}

export async function saveListing(stateDir: string, stamps: DirStamps, listJson: string): Promise<void> {
	await writeFileAtomically(stateDir, listingCacheFileName, serializeListing(stamps, listJson));
}
