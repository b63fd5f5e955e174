/** What a download works with (the peer's services, given by the caller) and what it keeps across rounds. */
import {type ErrorCode, XfsError} from '../common/errors.js';
import type {FileEntry, FindReply, HolderRef} from '../common/wire.js';
import type {Policy} from '../core/cost.js';
import type {LoadCounter} from '../core/load-counter.js';
import type {BackoffOptions} from '../core/retry-policy.js';
import type {Attempt, DownloadEvent} from '../core/transfer-types.js';
import type {PartialHoldings} from '../share/partial-holdings.js';

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
	/** Where the share dir's files are reached (its pinned handle). */
	shareDir: string;
	/** The share dir as the user named it, for messages and results; shareDir when not given. */
	shownDir?: string;
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
	/** Tell a holder that its bytes did not match the md5 it lists (it hashes the file again). */
	reportMismatch?: (holder: HolderRef, name: string) => void;
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
	/**
	 * Swarm (absent with --no-swarm): a download by parts lists its verified parts here (they are
	 * served and announced at once) and takes parts from the partial holders Find lists.
	 */
	partial?: PartialHoldings;
	/**
	 * Swarm: a partial holder to take parts from first (a replica chain): while it is a source and
	 * has had something new lately, holders of the whole file are not asked, so their upload is left to it.
	 */
	preferPartial?: string;
};

/** What one download keeps across its rounds: every attempt, and how often each holder sent bad bytes. */
export type DownloadRecord = {attempts: Attempt[]; mismatches: Map<string, number>};

/** A message or path with the share dir's I/O path (its pinned handle) written as the user names the dir. */
export function shownText(deps: Pick<DownloaderDeps, 'shareDir' | 'shownDir'>, text: string): string {
	return deps.shownDir === undefined ? text : text.replaceAll(deps.shareDir, deps.shownDir);
}

/** GetLoad from every holder at once: each with its load, or undefined when it did not answer. */
export async function probeLoads(deps: Pick<DownloaderDeps, 'probeLoad'>, holders: HolderRef[]): Promise<Array<{holder: HolderRef; load: number | undefined}>> {
	return Promise.all(holders.map(async holder => {
		try {
			return {holder, load: await deps.probeLoad(holder)};
		} catch {
			return {holder, load: undefined};
		}
	}));
}
