/** Swarm: serving a file still downloading, only from its verified parts; anything else is 416 with the parts it has. */
import {constants} from 'node:fs';
import fs from 'node:fs/promises';
import type {Response} from 'express';
import {partCount} from '../core/part-geometry.js';
import {encodePartMap} from '../core/part-map.js';
import type {PartialFile} from '../share/partial-holdings.js';
import type {OpenShared} from '../share/share-dir.js';

/** The wire form of the parts a partial holder has (the `partial` field of GET /files/:name/parts and of its 416). */
export function partialSummary(file: PartialFile): {have: number; of: number; bitmap: string} {
	return {have: file.have.size, of: file.md5s.length, bitmap: encodePartMap(file.have, file.md5s.length)};
}

/** True when every byte of [start, end] (inclusive) lies in a verified part. */
export function holdsSpan(file: PartialFile, {start, end}: {start: number; end: number}): boolean {
	if (start < 0 || end < start || end >= file.size) {
		return false;
	}

	const first = Math.floor(start / file.partSize);
	const last = Math.min(partCount(file.size, file.partSize) - 1, Math.floor(end / file.partSize));
	for (let part = first; part <= last; part++) {
		if (!file.have.has(part)) {
			return false;
		}
	}

	return true;
}

/** The download's data file, opened for reading (never through a link). */
export async function openPartial(file: PartialFile): Promise<OpenShared | undefined> {
	let handle: fs.FileHandle;
	try {
		handle = await fs.open(file.dataPath, constants.O_RDONLY | constants.O_NOFOLLOW);
	} catch {
		return undefined;
	}

	const stats = await handle.stat();
	if (!stats.isFile() || stats.size !== file.size) {
		await handle.close();
		return undefined;
	}

	return {handle, size: file.size, mtimeMs: stats.mtimeMs, ino: stats.ino};
}

export function sendPartsMissing(response: Response, file: PartialFile, asked: string): void {
	response.status(416).set('Content-Range', `bytes */${file.size}`).json({
		error: {code: 'BAD_INPUT', message: `${asked} of ${file.name} is not all verified here yet (${file.have.size} of ${file.md5s.length} parts): ask for a range inside the parts listed`},
		partial: partialSummary(file),
	});
}
