/** The synthetic population of the tracker bench: peers, the files each holds, and who holds a name. */
import {createHash} from 'node:crypto';
import type {FileEntry, HolderRef} from '../source/common/wire.js';

/** Every name is held by `peers * filesPerPeer / distinctNames` peers that agree on its md5. */
export type Population = {peers: number; filesPerPeer: number; distinctNames: number};

export const fileNameOf = (index: number) => `f${index}`;
export const peerIdOf = (index: number) => `p${index}`;

/** Loopback URLs that nothing listens on: the tracker only stores them (it probes a peer only on a conflict or a suspect report). */
export function findHolder(peer: number): HolderRef {
	return {id: peerIdOf(peer), url: `http://127.0.0.1:${20_000 + (peer % 40_000)}`};
}

const md5Of = (index: number) => createHash('md5').update(fileNameOf(index)).digest('hex');

/** The UpdateList body of peer `peer`. */
export function updateListOf(peer: number, {filesPerPeer, distinctNames}: Population): {url: string; files: FileEntry[]} {
	const files: FileEntry[] = [];
	for (let slot = 0; slot < filesPerPeer; slot++) {
		const index = ((peer * filesPerPeer) + slot) % distinctNames;
		files.push({name: fileNameOf(index), md5: md5Of(index), size: 1000 + index});
	}

	return {url: findHolder(peer).url, files};
}
