/** The download steps of DESIGN.md: find, GetLoad, rank, receive with md5, retry, rename into place, updatelist. */
import {randomBytes} from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {rankHolders, type Candidate, type Policy, type ScoredHolder} from '../core/cost.js';
import {type ErrorCode, XfsError} from '../common/errors.js';
import type {LoadCounter} from '../core/load-counter.js';
import {multiSourceDownload} from './multi-source.js';
import type {SourceSnapshot} from '../core/part-plan.js';
import {receiveFile, TransferError} from '../clients/peer-client.js';
import {
	afterFailedAttempt, isSuspect, maxMismatchesPerHolder, nextDelayWithin, stallTimeouts, type BackoffOptions, type Outcome,
} from '../core/retry-policy.js';
import {exists, partialDir} from '../share/share-dir.js';
import {parseFileName, type FileEntry, type FindReply, type HolderRef} from '../common/wire.js';

export type Attempt = {peer: string; outcome: Outcome};

/** A holder as the candidate panel shows it. */
export type CandidateRow = {id: string; url: string; latencyMs: number; load?: number; cost?: number; mark: 'candidate' | 'chosen' | 'checksum' | 'down'};

export type DownloadEvent =
	| {type: 'candidates'; name: string; rows: CandidateRow[]}
	| {type: 'start'; name: string; from: string; size: number}
	| {type: 'progress'; name: string; from: string; received: number; size: number}
	| {type: 'attempt'; name: string; attempt: Attempt}
	| {type: 'waiting'; name: string; retryInMs: number; reason: string}
	| {type: 'sources'; name: string; sources: SourceSnapshot[]};

export type DownloadResult = {
	name: string; path: string; md5: string; size: number; from: string; attempts: Attempt[];
	/** Multi-source only: what each holder sent, the part size, and the parts reused from an interrupted run. */
	sources?: Array<{id: string; parts: number; received: number}>;
	partSize?: number;
	reused?: {parts: number; bytes: number};
};

export class DownloadError extends XfsError {
	readonly attempts: Attempt[];

	constructor(code: ErrorCode, message: string, attempts: Attempt[], options?: {cause?: unknown}) {
		super(code, message, options);
		this.name = 'DownloadError';
		this.attempts = attempts;
	}
}

export type DownloaderDeps = {
	id: string;
	shareDir: string;
	/** Find through the tracker (waiting on it as configured); throws NOT_FOUND or TRACKER_DOWN. */
	locate: (name: string) => Promise<FindReply>;
	/** GetLoad with a short timeout; throws when the holder does not answer. */
	probeLoad: (holder: HolderRef) => Promise<number>;
	latencyTo: (peerId: string) => number;
	latencyScale: number;
	policy: Policy;
	k: number;
	load: LoadCounter;
	/** Report a holder that refused or dropped the connection. */
	suspect: (peerId: string) => void;
	/** Make the new file known: updatelist. */
	announce: (file: FileEntry) => Promise<void>;
	/** Least silence tolerated from a holder before it counts as stalled (see stallTimeouts). */
	idleFloorMs?: number;
	/** How long to keep retrying when every holder failed. */
	allDownWaitMs: number;
	backoff: BackoffOptions;
	onEvent?: (event: DownloadEvent) => void;
	random?: () => number;
	/** Holders one download reads parts from at once; 1 (the default) keeps the single-source path. */
	maxSources?: number;
	partSize?: number;
	/** Shared secret of the network, if any. */
	secret?: string;
};

export async function download(deps: DownloaderDeps, rawName: string): Promise<DownloadResult> {
	const name = parseFileName(rawName);
	const finalPath = path.join(deps.shareDir, name);
	if (await exists(finalPath)) {
		throw new DownloadError('ALREADY_HAVE', `${name} is already in the share dir`, []);
	}

	const release = deps.load.startDownload();
	const attempts: Attempt[] = [];
	const mismatches = new Map<string, number>();
	const started = Date.now();
	try {
		let md5 = '';
		for (let round = 1; ; round++) {
			const found = await locateAgain(deps, name, round);
			const others = found?.peers.filter(peer => peer.id !== deps.id) ?? [];
			if (round === 1 && others.length === 0) {
				throw new DownloadError('NOT_FOUND', `no other peer holds ${name}`, attempts);
			}

			md5 = found?.md5 ?? md5;
			const eligible = others.filter(peer => (mismatches.get(peer.id) ?? 0) < maxMismatchesPerHolder);
			if (others.length > 0 && eligible.length === 0) {
				throw new DownloadError('CHECKSUM_MISMATCH', `every holder of ${name} sent bytes that do not match md5 ${md5}`, attempts);
			}

			if (found && eligible.length > 0) {
				const {ranked, rows} = await rankAvailable(deps, name, eligible, attempts);
				const multiSource = await multiSourceDownload(deps, {found, holders: ranked, rows, finalPath, attempts, mismatches});
				if (multiSource.outcome === 'ok') {
					return multiSource.result;
				}

				// After a multi-source round every holder has had its chance: straight to the retry wait.
				for (const holder of multiSource.outcome === 'not-used' ? ranked : []) {
					markRow(rows, holder.id, 'chosen');
					deps.onEvent?.({type: 'candidates', name, rows: rows.map(row => ({...row}))});
					const outcome = await tryHolder(deps, found, holder, finalPath, mismatches, attempts);
					if (outcome === 'ok') {
						return {name, path: finalPath, md5: found.md5, size: found.size, from: holder.id, attempts};
					}

					markRow(rows, holder.id, outcome === 'checksum-mismatch' ? 'checksum' : 'down');
					deps.onEvent?.({type: 'candidates', name, rows: rows.map(row => ({...row}))});
				}
			}

			// Holders that refuse the request (a missing or wrong --secret) will refuse it again: no point waiting.
			const onlyRefusals = attempts.length > 0 && attempts.every(attempt => attempt.outcome === 'refused');
			const delay = onlyRefusals ? undefined : nextDelayWithin(round, Date.now() - started, deps.allDownWaitMs, deps.backoff);
			const onlyMismatches = attempts.length > 0 && attempts.every(attempt => attempt.outcome === 'checksum-mismatch');
			if (delay === undefined) {
				throw onlyMismatches
					? new DownloadError('CHECKSUM_MISMATCH', `every holder of ${name} sent bytes that do not match md5 ${md5}`, attempts)
					: new DownloadError('ALL_PEERS_DOWN', `every holder of ${name} failed (${summarize(attempts)})${onlyRefusals ? '; a refusal usually means a missing or wrong --secret' : ''}`, attempts);
			}

			deps.onEvent?.({type: 'waiting', name, retryInMs: delay, reason: 'every holder failed'});
			await sleep(delay);
		}
	} catch (error) {
		if (error instanceof DownloadError) {
			throw error;
		}

		if (error instanceof XfsError) {
			throw new DownloadError(error.code, error.message, attempts, {cause: error});
		}

		throw error;
	} finally {
		release();
	}
}

/**
 * Find for a round. Only the first Find decides NOT_FOUND: later, holders that failed
 * may have been dropped by the tracker (suspect report, TTL) and may still come back.
 */
async function locateAgain(deps: DownloaderDeps, name: string, round: number): Promise<FindReply | undefined> {
	try {
		return await deps.locate(name);
	} catch (error) {
		if (round > 1 && error instanceof XfsError && error.code === 'NOT_FOUND') {
			return undefined;
		}

		throw error;
	}
}

async function rankAvailable(deps: DownloaderDeps, name: string, holders: HolderRef[], attempts: Attempt[]): Promise<{ranked: ScoredHolder[]; rows: CandidateRow[]}> {
	const probed = await Promise.all(holders.map(async holder => {
		try {
			return {holder, load: await deps.probeLoad(holder)};
		} catch {
			return {holder, load: undefined};
		}
	}));
	const candidates: Candidate[] = [];
	const down: CandidateRow[] = [];
	for (const {holder, load} of probed) {
		const latencyMs = deps.latencyTo(holder.id);
		if (load === undefined) {
			attempts.push({peer: holder.id, outcome: 'down'});
			deps.onEvent?.({type: 'attempt', name, attempt: {peer: holder.id, outcome: 'down'}});
			deps.suspect(holder.id);
			down.push({id: holder.id, url: holder.url, latencyMs, mark: 'down'});
		} else {
			candidates.push({id: holder.id, url: holder.url, latencyMs, load});
		}
	}

	const ranked = rankHolders(candidates, {policy: deps.policy, k: deps.k, random: deps.random});
	const rows: CandidateRow[] = [...ranked.map(holder => ({...holder, mark: 'candidate' as const})), ...down];
	deps.onEvent?.({type: 'candidates', name, rows: rows.map(row => ({...row}))});
	return {ranked, rows};
}

async function tryHolder(
	deps: DownloaderDeps, found: FindReply, holder: ScoredHolder, finalPath: string,
	mismatches: Map<string, number>, attempts: Attempt[],
): Promise<Outcome> {
	const {name} = found;
	for (;;) {
		const tempPath = path.join(partialDir(deps.shareDir), `${name}.${randomBytes(6).toString('hex')}.part`);
		let outcome: Outcome;
		const timeouts = stallTimeouts(holder.latencyMs * deps.latencyScale, deps.idleFloorMs);
		try {
			deps.onEvent?.({type: 'start', name, from: holder.id, size: found.size});
			const received = await receiveFile({
				url: holder.url,
				name,
				requesterId: deps.id,
				tempPath,
				expectedSize: found.size,
				firstByteTimeoutMs: timeouts.firstByteMs,
				idleTimeoutMs: timeouts.idleMs,
				secret: deps.secret,
				onBytes(bytes) {
					deps.onEvent?.({type: 'progress', name, from: holder.id, received: bytes, size: found.size});
				},
			});
			outcome = received.md5 === found.md5 ? 'ok' : 'checksum-mismatch';
		} catch (error) {
			if (!(error instanceof TransferError)) {
				await fs.rm(tempPath, {force: true});
				throw error;
			}

			outcome = error.outcome;
		}

		if (outcome === 'ok') {
			try {
				await placeFile(tempPath, finalPath);
			} catch (error) {
				await fs.rm(tempPath, {force: true});
				throw error;
			}

			attempts.push({peer: holder.id, outcome});
			deps.onEvent?.({type: 'attempt', name, attempt: {peer: holder.id, outcome}});
			await deps.announce({name, md5: found.md5, size: found.size});
			return outcome;
		}

		await fs.rm(tempPath, {force: true});
		attempts.push({peer: holder.id, outcome});
		deps.onEvent?.({type: 'attempt', name, attempt: {peer: holder.id, outcome}});
		if (isSuspect(outcome)) {
			deps.suspect(holder.id);
		}

		if (outcome === 'checksum-mismatch') {
			mismatches.set(holder.id, (mismatches.get(holder.id) ?? 0) + 1);
		}

		if (afterFailedAttempt(outcome, mismatches.get(holder.id) ?? 0) === 'next') {
			return outcome;
		}
	}
}

/** Moves a verified temp file into place without ever replacing an existing file. */
export async function placeFile(tempPath: string, finalPath: string): Promise<void> {
	try {
		// link() fails with EEXIST instead of overwriting, which rename() would do.
		await fs.link(tempPath, finalPath);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
			throw new XfsError('ALREADY_HAVE', `${path.basename(finalPath)} appeared in the share dir during the download; kept the existing file`);
		}

		throw error;
	}

	await fs.rm(tempPath, {force: true});
	const directory = await fs.open(path.dirname(finalPath), 'r');
	try {
		await directory.sync();
	} finally {
		await directory.close();
	}
}

function markRow(rows: CandidateRow[], id: string, mark: CandidateRow['mark']): void {
	const row = rows.find(candidate => candidate.id === id);
	if (row) {
		row.mark = mark;
	}
}

function summarize(attempts: Attempt[]): string {
	return attempts.map(attempt => `${attempt.peer}: ${attempt.outcome}`).join(', ') || 'no attempt';
}

