/**
 * Where a pinned file lives (pure): the r peers whose sha1(machID) is closest to sha1(name) by
 * XOR distance, Kademlia's metric, so a tracker's peer list and a DHT's routing table give the same answer.
 */
import {createHash} from 'node:crypto';

/** A 160-bit sha1 digest as a bigint (big-endian): the key of a name or of a machID. */
export function keyOf(text: string): bigint {
	return BigInt(`0x${createHash('sha1').update(text, 'utf8').digest('hex')}`);
}

/** XOR distance between two 160-bit keys (big-endian numbers): 0 for the same key, symmetric, and one order for every target. */
export function xorDistance(a: bigint, b: bigint): bigint {
	return a ^ b;
}

/** Distance from a name to a peer: sha1(name) XOR sha1(machID). */
export function distanceTo(name: string, machId: string): bigint {
	return xorDistance(keyOf(name), keyOf(machId));
}

/** Every machID, closest to the name first (ids given twice count once); distinct ids never tie, as sha1 is one-to-one on them in practice. */
export function rankByDistance(name: string, machIds: Iterable<string>): string[] {
	const target = keyOf(name);
	const ranked = [...new Set(machIds)].map(id => ({id, distance: xorDistance(target, keyOf(id))}));
	ranked.sort((a, b) => compare(a.distance, b.distance) || compare(a.id, b.id));
	return ranked.map(entry => entry.id);
}

export type PlacementOptions = {
	/** Peers that refused to hold this file (no --replica-space for it): skipped, the next closest takes their place. */
	refused?: ReadonlySet<string> | readonly string[];
};

/**
 * The placement set of a file: the `r` live peers (`machIds`) whose sha1(machID) is closest to
 * sha1(name) by XOR distance, closest first, skipping those that refused. Fewer than r when fewer
 * peers are there; the caller decides what that means (under-replicated).
 */
export function placementFor(name: string, machIds: Iterable<string>, r: number, {refused = []}: PlacementOptions = {}): string[] {
	const skip = refused instanceof Set ? refused : new Set(refused);
	return rankByDistance(name, machIds).filter(id => !skip.has(id)).slice(0, Math.max(0, r));
}

function compare<T extends bigint | string>(a: T, b: T): number {
	return a < b ? -1 : (a > b ? 1 : 0);
}
