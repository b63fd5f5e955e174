/** Small probes the fault tests share: what a share dir holds, a peer's load, who the tracker lists. */
import {readdir} from 'node:fs/promises';
import path from 'node:path';
import {eventually, getJson} from './processes.js';

/** Top-level names in a share dir, sorted (the hidden .xfs folder included). */
export async function shareDirNames(dir: string): Promise<string[]> {
	return (await readdir(dir)).sort();
}

/** Unfinished downloads in a share dir's partial folder. */
export async function partialNames(dir: string): Promise<string[]> {
	try {
		return (await readdir(path.join(dir, '.xfs', 'partial'))).sort();
	} catch {
		return [];
	}
}

export async function loadOf(peerUrl: string): Promise<number> {
	return (await getJson(`${peerUrl}/load`)).body.load as number;
}

/** Waits until every peer reports load 0 (no counter leaked by an aborted transfer). */
export async function loadsSettleAtZero(peerUrls: string[]): Promise<number[]> {
	return eventually(async () => {
		const loads = await Promise.all(peerUrls.map(loadOf));
		return loads.every(load => load === 0) ? loads : undefined;
	});
}

/** Holder ids the tracker lists for a file, or [] when it answers 404. */
export async function holdersAt(trackerUrl: string, name: string): Promise<string[]> {
	const {status, body} = await getJson(`${trackerUrl}/files/${name}`);
	return status === 404 ? [] : (body.peers as Array<{id: string}>).map(peer => peer.id);
}

export async function peerIdsAt(trackerUrl: string): Promise<string[]> {
	return ((await getJson(`${trackerUrl}/peers`)).body.peers as Array<{id: string}>).map(peer => peer.id);
}

/** The message of a `--serve` peer's JSON log line (pino), or undefined for any other line. */
export function logMessage(line: string): string | undefined {
	try {
		const entry = JSON.parse(line) as {msg?: unknown};
		return typeof entry.msg === 'string' ? entry.msg : undefined;
	} catch {
		return undefined;
	}
}

/** Waits for a `--serve` peer's log line whose message matches; resolves with the message. */
export async function nextLogMessage(log: {next: (match: (line: string) => boolean) => Promise<string>}, match: RegExp): Promise<string> {
	return logMessage(await log.next(line => match.test(logMessage(line) ?? '')))!;
}
