/** Asking every holder for its parts list at once, for the manifest vote. */
import type {FindReply} from '../common/wire.js';
import type {ScoredHolder} from '../core/cost.js';
import type {ManifestVote} from '../core/manifest-vote.js';
import {getPartsList} from '../clients/part-fetch.js';

/** Hashing a large file's parts the first time takes a while on the holder. */
export const partsListTimeoutMs = 10_000;
/** After this long, the parts lists in hand are enough to start. */
const quorumWaitMs = 1000;

/**
 * Asks every holder for its parts list at once. Waits for all of them, except that once
 * `quorumWaitMs` has passed with at least one list in hand, late ones are not waited for
 * (a holder that is slow to answer can still send parts, checked against the chosen list).
 */
export async function askPartsLists(holders: readonly ScoredHolder[], found: FindReply, secret: string | undefined): Promise<ManifestVote[]> {
	const votes: ManifestVote[] = [];
	let quorumTimer: NodeJS.Timeout | undefined;
	await new Promise<void>(resolve => {
		let unanswered = holders.length;
		let waitedLongEnough = false;
		const settle = () => {
			if (unanswered === 0 || (waitedLongEnough && votes.length > 0)) {
				resolve();
			}
		};

		quorumTimer = setTimeout(() => {
			waitedLongEnough = true;
			settle();
		}, quorumWaitMs);
		for (const holder of holders) {
			getPartsList(holder.url, found.name, {timeoutMs: partsListTimeoutMs, secret}).then(reply => {
				// A holder whose file has another size cuts other parts: its list counts against it.
				const md5s = reply.name === found.name && reply.size === found.size ? reply.md5s : [];
				votes.push({holder: holder.id, manifest: {partSize: reply.partSize, md5s}});
			}, () => {}).finally(() => {
				unanswered--;
				settle();
			});
		}

		settle();
	});
	clearTimeout(quorumTimer);
	return [...votes];
}
