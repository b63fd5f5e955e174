/** Which parts manifest to trust (pure): the list of part md5s most holders agree on. */
import {maxPartSize, minPartSize, partCount} from './part-geometry.js';

export type PartsManifest = {partSize: number; md5s: string[]};
export type ManifestVote = {holder: string; manifest: PartsManifest};
export type ManifestChoice = {manifest: PartsManifest; agreeing: string[]; disagreeing: string[]};

/** A manifest fits a file of `size` bytes when its part size is in bounds and it lists one md5 per part. */
export function fitsFile(manifest: PartsManifest, size: number): boolean {
	return manifest.partSize >= minPartSize
		&& manifest.partSize <= maxPartSize
		&& manifest.md5s.length === partCount(size, manifest.partSize);
}

/**
 * The parts manifest most holders agree on (ties: the smaller part size, then the smaller list).
 * `disagreeing` are holders whose manifest does not fit the file or lists other md5s for the same
 * part size: their bytes differ. Holders that cut the file into other sizes are neither.
 */
export function chooseManifest(votes: readonly ManifestVote[], size: number): ManifestChoice | undefined {
	const groups = new Map<string, {manifest: PartsManifest; holders: string[]}>();
	for (const vote of votes) {
		if (!fitsFile(vote.manifest, size)) {
			continue;
		}

		const key = `${vote.manifest.partSize}:${vote.manifest.md5s.join(',')}`;
		const group = groups.get(key) ?? {manifest: vote.manifest, holders: []};
		group.holders.push(vote.holder);
		groups.set(key, group);
	}

	const ranked = [...groups.entries()].sort(([keyA, a], [keyB, b]) =>
		b.holders.length - a.holders.length || a.manifest.partSize - b.manifest.partSize || (keyA < keyB ? -1 : (keyA > keyB ? 1 : 0)));
	const best = ranked[0]?.[1];
	if (!best) {
		return undefined;
	}

	const disagreeing = votes
		.filter(vote => !fitsFile(vote.manifest, size) || (vote.manifest.partSize === best.manifest.partSize && !best.holders.includes(vote.holder)))
		.map(vote => vote.holder);
	return {manifest: best.manifest, agreeing: [...best.holders], disagreeing};
}
