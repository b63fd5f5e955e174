/**
 * Which md5 and size a name has when no tracker says so (pure): the holders found through the DHT
 * each say what they list, and the version most of them hold wins. A NameRecordPolicy is the seam
 * where signed name records (the security issue) replace the vote: it gets the same claims.
 */
import type {HolderRef} from '../common/wire.js';

export type HolderClaim = {holder: HolderRef; md5: string; size: number};
export type NameChoice = {md5: string; size: number; holders: HolderRef[]; outvoted: HolderRef[]};
export type NameRecordPolicy = (name: string, claims: readonly HolderClaim[]) => NameChoice | undefined;

/** One claim per machID (the first), then the md5 and size most holders list; ties go to the smaller md5, so every finder picks the same. */
export const majorityVote: NameRecordPolicy = (_name, claims) => {
	const seen = new Set<string>();
	const groups = new Map<string, {md5: string; size: number; holders: HolderRef[]}>();
	for (const claim of claims) {
		if (seen.has(claim.holder.id)) {
			continue;
		}

		seen.add(claim.holder.id);
		const key = `${claim.md5}:${claim.size}`;
		const group = groups.get(key) ?? {md5: claim.md5, size: claim.size, holders: []};
		group.holders.push(claim.holder);
		groups.set(key, group);
	}

	const [best] = [...groups.values()].sort((a, b) => b.holders.length - a.holders.length || (a.md5 < b.md5 ? -1 : (a.md5 > b.md5 ? 1 : a.size - b.size)));
	if (!best) {
		return undefined;
	}

	const outvoted = [...groups.values()].filter(group => group !== best).flatMap(group => group.holders);
	return {md5: best.md5, size: best.size, holders: best.holders, outvoted};
};
