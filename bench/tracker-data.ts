/** The synthetic population of the tracker bench: peers, the files each holds, and who holds a name. */
import {createHash} from 'node:crypto';
import type {FileEntry, HolderRef, RecordedEntry} from '../source/common/wire.js';

/** Every name is held by `peers * filesPerPeer / distinctNames` peers that agree on its md5. */
export type Population = {peers: number; filesPerPeer: number; distinctNames: number};

export const fileNameOf = (index: number) => `f${index}`;
export const peerIdOf = (index: number) => `p${index}`;

/**
 * A loopback address of its own for each peer (127.0.0.0/8 all reaches this machine), on the
 * port of the bench's identity responder, which answers the tracker's challenge for every peer.
 */
export function findHolder(peer: number, port = 9): HolderRef {
	return {id: peerIdOf(peer), url: `http://127.${1 + Math.floor(peer / 62_500)}.${1 + (Math.floor(peer / 250) % 250)}.${1 + (peer % 250)}:${port}`};
}

/** The peer an address of findHolder belongs to. */
export function peerOfHost(host: string): number | undefined {
	const match = /^127\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
	return match ? ((Number(match[1]) - 1) * 62_500) + ((Number(match[2]) - 1) * 250) + (Number(match[3]) - 1) : undefined;
}

const md5Of = (index: number) => createHash('md5').update(fileNameOf(index)).digest('hex');

/** The first peer to list name `index` (peers list in order of id): its owner. */
export const ownerOf = (index: number, {filesPerPeer}: Population) => Math.floor(index / filesPerPeer);

/** Name `index` as every holder lists it. */
export const entryOf = (index: number): FileEntry => ({name: fileNameOf(index), md5: md5Of(index), size: 1000 + index});

/**
 * The UpdateList body of peer `peer`. With `recordOf` (the owner's signed record of a name), each
 * entry carries its name record, as a peer's list does: the owner's own, and a copy's with its owner.
 */
export function updateListOf(peer: number, population: Population, port?: number, recordOf?: (index: number) => {owner: string; sig: string}): {url: string; files: RecordedEntry[]} {
	const files: RecordedEntry[] = [];
	for (let slot = 0; slot < population.filesPerPeer; slot++) {
		const index = ((peer * population.filesPerPeer) + slot) % population.distinctNames;
		const entry = entryOf(index);
		if (recordOf) {
			const {owner, sig} = recordOf(index);
			files.push(ownerOf(index, population) === peer ? {...entry, version: 1, sig} : {...entry, version: 1, sig, owner});
		} else {
			files.push(entry);
		}
	}

	return {url: findHolder(peer, port).url, files};
}
