/** The download steps of DESIGN.md: find, GetLoad, rank, fetch (from several holders when it pays), verify, place, updatelist. */
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {XfsError} from '../common/errors.js';
import {parseFileName, type FindReply, type HolderRef} from '../common/wire.js';
import {rankHolders, type Candidate, type ScoredHolder} from '../core/cost.js';
import {maxMismatchesPerHolder, nextDelayWithin} from '../core/retry-policy.js';
import type {Attempt, DownloadResult} from '../core/transfer-types.js';
import {ensureRoom} from '../share/free-space.js';
import {resumableBytes} from '../share/part-store.js';
import {exists} from '../share/share-dir.js';
import {DownloadError, probeLoads, shownText, type DownloaderDeps, type DownloadRecord} from './download-context.js';
import {multiSourceDownload} from './multi-source.js';
import {fromOneHolder} from './single-source.js';

export type {Attempt, DownloadEvent, DownloadResult} from '../core/transfer-types.js';
export {DownloadError, type DownloaderDeps} from './download-context.js';

export async function download(deps: DownloaderDeps, rawName: string): Promise<DownloadResult> {
	const name = parseFileName(rawName);
	const finalPath = path.join(deps.shareDir, name);
	/** Where the file is, as the user names it (the I/O path may be the share dir's pinned handle). */
	const shownPath = path.join(deps.shownDir ?? deps.shareDir, name);
	if (await exists(finalPath)) {
		throw new DownloadError('ALREADY_HAVE', `${name} is already in the share dir`, []);
	}

	const release = deps.load.startDownload();
	const record: DownloadRecord = {attempts: [], mismatches: new Map()};
	const {attempts} = record;
	const started = Date.now();
	try {
		let md5 = '';
		for (let round = 1; ; round++) {
			const found = await locateAgain(deps, name, round);
			const others = found?.peers.filter(peer => peer.id !== deps.id) ?? [];
			if (round === 1 && others.length === 0) {
				throw new DownloadError('NOT_FOUND', `no other peer holds ${name}`, attempts);
			}

			if (round === 1 && found) {
				// A file that cannot fit fails now, before any holder is asked for a byte.
				await ensureRoom(deps.shareDir, found.size - await resumableBytes(deps.shareDir, found), name, deps.shownDir);
			}

			if (found && md5 !== '' && found.md5 !== md5) {
				// The name has other content now (a holder found its file changed and published it again): mismatches were against the old md5.
				record.mismatches.clear();
			}

			md5 = found?.md5 ?? md5;
			const eligible = others.filter(peer => (record.mismatches.get(peer.id) ?? 0) < maxMismatchesPerHolder);
			if (others.length > 0 && eligible.length === 0) {
				throw new DownloadError('CHECKSUM_MISMATCH', `every holder of ${name} sent bytes that do not match md5 ${md5}`, attempts);
			}

			if (found && eligible.length > 0) {
				const ranked = await rankAvailable(deps, name, eligible, attempts);
				const multiSource = await multiSourceDownload(deps, {found, holders: ranked, finalPath, record});
				if (multiSource.outcome === 'ok') {
					return multiSource.result;
				}

				// After a multi-source round every holder has had its chance: straight to the retry wait.
				for (const holder of multiSource.outcome === 'not-used' ? ranked : []) {
					deps.onEvent?.({type: 'holder-chosen', name, id: holder.id});
					const outcome = await fromOneHolder(deps, found, holder, finalPath, record);
					if (outcome === 'ok') {
						return {name, path: shownPath, md5: found.md5, size: found.size, from: holder.id, attempts};
					}

					deps.onEvent?.({type: 'holder-dropped', name, id: holder.id, why: outcome === 'checksum-mismatch' ? 'checksum' : 'down'});
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
			throw new DownloadError(error.code, shownText(deps, error.message), attempts, {cause: error});
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

/** GetLoad from every holder at once; those that answer are ranked by the policy, the rest recorded as down. */
async function rankAvailable(deps: DownloaderDeps, name: string, holders: HolderRef[], attempts: Attempt[]): Promise<ScoredHolder[]> {
	const probed = await probeLoads(deps, holders);
	const candidates: Candidate[] = [];
	const down: Array<HolderRef & {latencyMs: number}> = [];
	for (const {holder, load} of probed) {
		const latencyMs = deps.latencyTo(holder.id);
		if (load === undefined) {
			attempts.push({peer: holder.id, outcome: 'down'});
			deps.onEvent?.({type: 'attempt', name, attempt: {peer: holder.id, outcome: 'down'}});
			deps.suspect(holder.id);
			down.push({id: holder.id, url: holder.url, latencyMs});
		} else {
			candidates.push({id: holder.id, url: holder.url, latencyMs, load});
		}
	}

	const ranked = rankHolders(candidates, {policy: deps.policy, k: deps.k, random: deps.random});
	deps.onEvent?.({type: 'holders-ranked', name, ranked, down});
	return ranked;
}

function summarize(attempts: Attempt[]): string {
	return attempts.map(attempt => `${attempt.peer}: ${attempt.outcome}`).join(', ') || 'no attempt';
}
