/** A whole file from one holder: streamed into the partial folder while it is hashed, checked, placed and announced. */
import {randomBytes} from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {localFault} from '../common/errors.js';
import type {FindReply} from '../common/wire.js';
import type {ScoredHolder} from '../core/cost.js';
import {afterFailedAttempt, isSuspect, stallTimeouts} from '../core/retry-policy.js';
import type {Outcome} from '../core/transfer-types.js';
import {placeFile} from '../share/place-file.js';
import {partialDir} from '../share/share-dir.js';
import {receiveFile, TransferError} from '../clients/peer-client.js';
import type {DownloaderDeps, DownloadRecord} from './download-context.js';

/** Tries one holder (a bad md5 gets one more try there); 'ok' once the file is in place and announced. */
export async function fromOneHolder(deps: DownloaderDeps, found: FindReply, holder: ScoredHolder, finalPath: string, {attempts, mismatches}: DownloadRecord): Promise<Outcome> {
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
			// The attempt did its part whatever happens next: a name taken meanwhile still reports it.
			attempts.push({peer: holder.id, outcome});
			deps.onEvent?.({type: 'attempt', name, attempt: {peer: holder.id, outcome}});
			try {
				await placeFile(tempPath, finalPath);
			} catch (error) {
				await fs.rm(tempPath, {force: true});
				throw localFault(error, path.join(deps.shownDir ?? deps.shareDir, name), 'place') ?? error;
			}

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
			deps.reportMismatch?.(holder, name);
		}

		if (afterFailedAttempt(outcome, mismatches.get(holder.id) ?? 0) === 'next') {
			return outcome;
		}
	}
}
