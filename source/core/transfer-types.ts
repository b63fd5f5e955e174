/** What the download engine reports (pure types): how an attempt at a holder ended, its events and its result. */
import type {HolderRef, PartialHolderRef} from '../common/wire.js';
import type {ScoredHolder} from './cost.js';
import type {SourceSnapshot} from './part-scheduler.js';

/** How one attempt at one holder ended; these strings are the `outcome` in `attempts`. */
export type Outcome = 'ok' | 'checksum-mismatch' | 'down' | 'dropped' | 'stalled' | 'not-found' | 'refused' | 'busy';

export type Attempt = {peer: string; outcome: Outcome};

/** Why a download stopped using a holder. */
export type DropReason = 'checksum' | 'down';

/**
 * Domain events of one download, in order: the holders ranked, each holder chosen or dropped,
 * bytes arriving, attempts ending, waits between rounds. The TUI turns them into rows.
 */
export type DownloadEvent =
	| {type: 'holders-ranked'; name: string; ranked: ScoredHolder[]; down: Array<HolderRef & {latencyMs: number}>}
	| {type: 'holder-chosen'; name: string; id: string}
	| {type: 'holder-dropped'; name: string; id: string; why: DropReason}
	| {type: 'start'; name: string; from: string; size: number}
	| {type: 'progress'; name: string; from: string; received: number; size: number}
	| {type: 'attempt'; name: string; attempt: Attempt}
	| {type: 'waiting'; name: string; retryInMs: number; reason: string}
	| {type: 'sources'; name: string; sources: SourceSnapshot[]}
	/** Swarm: peers still downloading the file, as Find lists them (with the parts they had then). */
	| {type: 'partial-holders'; name: string; holders: PartialHolderRef[]};

export type DownloadResult = {
	name: string; path: string; md5: string; size: number; from: string; attempts: Attempt[];
	/** Multi-source only: what each holder sent, the part size, and the parts reused from an interrupted run. */
	sources?: Array<{id: string; parts: number; received: number}>;
	partSize?: number;
	reused?: {parts: number; bytes: number};
};
