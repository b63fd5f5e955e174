/** Types of the parts of bittorrent-dht 11 and bencode 4 that xfs-peer uses (neither ships its own). */
declare module 'bittorrent-dht' {
	import {EventEmitter} from 'node:events';
	import type {Socket} from 'node:dgram';

	export type DhtContact = {host: string; port: number};
	export type DhtOptions = {
		nodeId?: Uint8Array;
		/** Host:port strings or contacts; an empty list (never undefined) keeps the node off the public network. */
		bootstrap: Array<string | DhtContact> | false;
		host?: string | false;
		/** Handed down to k-rpc-socket: the UDP socket to use. */
		socket?: Socket;
		/** K-rpc-socket's query timeout in ms (default 2000). */
		timeout?: number;
		concurrency?: number;
		k?: number;
		maxTables?: number;
		maxValues?: number;
		maxPeers?: number;
		maxAge?: number;
		timeBucketOutdated?: number;
	};

	type NoArguments = unknown[] & {length: 0};
	export type DhtEvents = {
		ready: NoArguments;
		listening: NoArguments;
		peer: [peer: DhtContact, infoHash: Uint8Array, from: DhtContact | null];
		announce: [peer: DhtContact, infoHash: Uint8Array];
		node: [node: {id: Uint8Array; host: string; port: number}];
		warning: [Error];
		error: [Error];
		close: NoArguments;
	};

	export default class DHT extends EventEmitter<DhtEvents> {
		constructor(options: DhtOptions);
		readonly nodeId: Uint8Array;
		readonly nodes: {count(): number; toArray(): Array<{id: Uint8Array; host: string; port: number}>};
		readonly listening: boolean;
		readonly ready: boolean;
		readonly destroyed: boolean;
		listen(port: number, host: string, onListening?: () => void): void;
		address(): {address: string; port: number; family: string};
		announce(infoHash: Uint8Array | string, port: number, callback?: (error: Error | null | undefined) => void): void;
		lookup(infoHash: Uint8Array | string, callback?: (error: Error | null | undefined, visited?: number) => void): () => void;
		addNode(node: DhtContact & {id?: Uint8Array}): void;
		toJSON(): {nodes: DhtContact[]; values: Record<string, unknown>};
		destroy(callback?: () => void): void;
	}
}

declare module 'bencode' {
	const bencode: {
		encode(value: unknown): Uint8Array;
		decode(data: Uint8Array): unknown;
	};
	export default bencode;
}
