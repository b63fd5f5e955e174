/** The DHT's keys (sha1) and the --bootstrap list (pure; loads without the DHT engine). */
import {createHash} from 'node:crypto';

/** The DHT key a file name is announced under: sha1("xfs:" + name). */
export function nameKey(name: string): Buffer {
	return sha1(`xfs:${name}`);
}

/** The DHT key a peer announces itself under, so its machID leads to its URL. */
export function peerKey(id: string): Buffer {
	return sha1(`xfs-peer:${id}`);
}

/** The key every peer announces itself under too: the roster `peers` and `files` read without a tracker. */
export const rosterKey = sha1('xfs-roster');

/** A node id from a machID (sha1), so XOR distance between ids is the DHT's own metric. */
export function nodeIdOf(id: string): Buffer {
	return sha1(id);
}

export function sha1(text: string): Buffer {
	return createHash('sha1').update(text).digest();
}

/** Parses `host:port[,host:port...]` (IPv4 or a name); undefined when one is not that, with the reason. */
export function parseBootstrap(value: string): string[] | string {
	const list = value.split(',').map(item => item.trim()).filter(Boolean);
	if (list.length === 0) {
		return 'expected host:port[,host:port...]';
	}

	for (const item of list) {
		const match = /^([A-Za-z\d.-]+):(\d{1,5})$/.exec(item);
		if (!match || Number(match[2]) < 1 || Number(match[2]) > 65_535) {
			return `"${item}" is not host:port`;
		}
	}

	return list;
}
