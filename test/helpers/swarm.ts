/** Swarm tests' network: a seed of one file of 16 parts, upload-limited, and downloaders with the same part size. */
import {createHash} from 'node:crypto';
import {readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import type {ExecutionContext} from 'ava';
import {deterministicBytes} from '../../fixtures/generate.js';
import {eventually, getJson, latencyFile, peerEntry, shareDir, startChild, type Child} from './processes.js';

export const partSize = 256 * 1024;
export const fileName = 'crowd.bin';
/** 16 parts of 256 KiB. */
export const parts = 16;
export const content = deterministicBytes(parts * partSize, 71);
export const contentMd5 = createHash('md5').update(content).digest('hex');
/** The seed sends 512 KiB/s: two parts a second, the whole file in 8 s alone. */
export const seedLimit = String(512 * 1024);

export type Peer = Child & {id: string; url: string; dir: string; run: (line: string) => Promise<Record<string, any>>; send: (line: string) => void};

export async function startPeer(t: ExecutionContext, options: {id: string; dir: string; tracker: string; serve?: boolean; args?: string[]}): Promise<Peer> {
	const {id, dir, tracker, serve = false, args = []} = options;
	const child = startChild(t, peerEntry, [
		'--id', id, '--dir', dir, '--tracker', tracker, '--json', '--heartbeat-ms', '200',
		'--latency', latencyFile, '--latency-scale', '0.01', '--part-size', String(partSize),
		...(serve ? ['--serve'] : []), ...args,
	]);
	const ready = JSON.parse(await child.stdout.next(line => line.includes('"event":"ready"'))) as {url: string};
	return {
		...child,
		id,
		url: ready.url,
		dir,
		send(line) {
			child.child.stdin.write(`${line}\n`);
		},
		async run(line) {
			child.child.stdin.write(`${line}\n`);
			return JSON.parse(await child.stdout.next(candidate => candidate.startsWith('{"cmd"'), 90_000)) as Record<string, any>;
		},
	};
}

export async function seed(t: ExecutionContext, tracker: string, id = 'S', args: string[] = []): Promise<Peer> {
	const dir = await shareDir(t);
	await writeFile(path.join(dir, fileName), content);
	const peer = await startPeer(t, {id, dir, tracker, serve: true, args: ['--upload-limit', seedLimit, ...args]});
	await eventually(async () => ((await getJson(`${tracker}/files/${fileName}`)).body?.peers?.some((holder: {id: string}) => holder.id === id) ? true : undefined));
	return peer;
}

export type Found = {peers: Array<{id: string}>; partial?: Array<{id: string; url: string; have: number; of: number}>};

export async function find(tracker: string): Promise<Found> {
	return (await getJson(`${tracker}/files/${fileName}`)).body as Found;
}

/** Waits until the tracker lists `id` as a partial holder with at least `have` parts. */
export async function partialEntry(tracker: string, id: string, have = 1) {
	return eventually(async () => (await find(tracker)).partial?.find(entry => entry.id === id && entry.have >= have), {timeoutMs: 60_000});
}

export async function partsOf(url: string) {
	const {body} = await getJson(`${url}/files/${fileName}/parts`);
	return body as {md5s: string[]; partSize: number; partial?: {have: number; of: number; bitmap: string}};
}

export async function range(url: string, start: number, end: number) {
	const response = await fetch(`${url}/files/${fileName}`, {headers: {range: `bytes=${start}-${end}`}});
	return {status: response.status, bytes: Buffer.from(await response.arrayBuffer()), contentRange: response.headers.get('content-range')};
}

/** Bytes of the file a downloader has verified and recorded so far. */
export async function verifiedBytes(dir: string): Promise<number> {
	try {
		const state = JSON.parse(await readFile(path.join(dir, '.xfs/partial', `${fileName}.${contentMd5}.parts`, 'state.json'), 'utf8')) as {verified: Array<[number, number]>};
		return state.verified.reduce((total, [start, end]) => total + end - start, 0);
	} catch {
		return 0;
	}
}

