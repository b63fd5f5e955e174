/**
 * Multi-source download: parts of one file from several holders at once, each part checked
 * against the parts list most holders agree on, written in place and recorded so that a
 * later download resumes from it; the whole file is checked against the tracker's md5 last.
 */
import http from 'node:http';
import path from 'node:path';
import https from 'node:https';
import type {Agents} from 'got';
import type {ScoredHolder} from '../core/cost.js';
import {fetchPart} from '../clients/part-fetch.js';
import {chooseManifest, type ManifestVote, type PartsManifest} from '../core/manifest-vote.js';
import {defaultPartSize, partCount, partSpan, type ByteSpan} from '../core/part-geometry.js';
import {PartScheduler, type Assignment} from '../core/part-scheduler.js';
import {freeBytes} from '../share/free-space.js';
import {hasResumableParts, PartStore, resumableBytes} from '../share/part-store.js';
import {resumableDir} from '../share/share-dir.js';
import {TransferError} from '../clients/peer-client.js';
import {isSuspect, maxMismatchesPerHolder, stallTimeouts} from '../core/retry-policy.js';
import type {DownloadResult, DropReason, Outcome} from '../core/transfer-types.js';
import {localFault, LocalFaultError} from '../common/errors.js';
import type {FindReply} from '../common/wire.js';
import type {DownloaderDeps, DownloadRecord} from './download-context.js';
import {askPartsLists} from './parts-lists.js';
import {partMatches, SplitParts} from './split-parts.js';

export type MultiSourceJob = {
	found: FindReply;
	/** Holders that answered GetLoad, best first by the selection policy. */
	holders: ScoredHolder[];
	finalPath: string;
	record: DownloadRecord;
};

export type MultiSourceOutcome =
	| {outcome: 'ok'; result: DownloadResult}
	/** Every holder failed this round; verified parts stay on disk for the next round or the next download. */
	| {outcome: 'failed'}
	/** One holder, one part, --max-sources 1, or no holder serves a parts list: the single-source path applies. */
	| {outcome: 'not-used'};

/** How often idle holders reconsider racing a part that is going slowly. */
const reconsiderMs = 200;
/** Least time between two progress events. */
const eventIntervalMs = 100;

/** Resumable state dirs in use by a download of this process. */
const running = new Set<string>();

export async function multiSourceDownload(deps: DownloaderDeps, job: MultiSourceJob): Promise<MultiSourceOutcome> {
	const {found} = job;
	const maxSources = deps.maxSources ?? 1;
	const partSize = deps.partSize ?? defaultPartSize;
	if (maxSources < 2 || found.size <= partSize) {
		return {outcome: 'not-used'};
	}

	if (job.holders.length < 2 && !await hasResumableParts(deps.shareDir, found.name, found.md5)) {
		return {outcome: 'not-used'};
	}

	const lock = `${deps.shareDir}\0${found.name}\0${found.md5}`;
	if (running.has(lock)) {
		return {outcome: 'not-used'};
	}

	running.add(lock);
	try {
		const votes = await askPartsLists(job.holders, found, deps.secret);
		const choice = chooseManifest(votes, found.size);
		if (!choice) {
			return {outcome: 'not-used'};
		}

		for (const id of choice.disagreeing) {
			record(deps, job, id, 'checksum-mismatch');
			const holder = job.holders.find(candidate => candidate.id === id);
			if (holder) {
				deps.reportMismatch?.(holder, found.name);
			}

			deps.onEvent?.({type: 'holder-dropped', name: found.name, id, why: 'checksum'});
		}

		const usable = job.holders.filter(holder => !choice.disagreeing.includes(holder.id));
		if (usable.length === 0) {
			return {outcome: 'failed'};
		}

		let store: PartStore;
		try {
			store = await PartStore.open(deps.shareDir, found);
		} catch (error) {
			throw localFault(error, resumableDir(deps.shownDir ?? deps.shareDir, found.name, found.md5), 'prepare') ?? error;
		}

		try {
			const reused = await store.reusableParts(choice.manifest);
			return await new MultiSourceRun(deps, job, choice.manifest, store, reused, usable.slice(0, maxSources), usable.slice(maxSources)).run();
		} catch (error) {
			throw await asLocalFault(error, store, deps, found);
		} finally {
			await store.close();
		}
	} finally {
		running.delete(lock);
	}
}

/**
 * A write that failed on this peer's own disk ends the download as a local fault. Verified parts
 * are kept for a later download only when the rest would fit; otherwise they are removed (and the
 * message says so), so a full disk is not left fuller by a download that cannot finish.
 */
async function asLocalFault(error: unknown, store: PartStore, deps: DownloaderDeps, found: FindReply): Promise<unknown> {
	const fault = localFault(error, path.join(deps.shownDir ?? deps.shareDir, '.xfs', 'partial'), 'write the parts of');
	if (!fault) {
		return error;
	}

	const kept = await resumableBytes(deps.shareDir, found);
	const free = await freeBytes(deps.shareDir);
	const noRoom = free === undefined ? fault.code === 'NO_SPACE' : free < found.size - kept;
	if (noRoom) {
		await store.discard();
		return new LocalFaultError(fault.code, fault.path, `${fault.message}; removed the ${kept} verified bytes of ${found.name}: no room to finish it`, {cause: error});
	}

	return new LocalFaultError(fault.code, fault.path, `${fault.message}; ${kept} verified bytes of ${found.name} kept for a later download`, {cause: error});
}

/** One multi-source attempt over a set of holders: dispatches parts, checks and stores them, and finishes the file. */
class MultiSourceRun {
	readonly #deps: DownloaderDeps;
	readonly #job: MultiSourceJob;
	readonly #manifest: PartsManifest;
	readonly #store: PartStore;
	readonly #holders: Map<string, ScoredHolder>;
	readonly #spares: ScoredHolder[];
	readonly #scheduler: PartScheduler;
	readonly #fetches = new Map<string, AbortController>();
	readonly #split = new SplitParts();
	readonly #agents = new Map<string, Agents>();
	readonly #pending = new Set<Promise<void>>();
	readonly #stop = new AbortController();
	#fatal: {error: unknown} | undefined;
	#wake: (() => void) | undefined;
	readonly #reused: number[];
	#lastEvent = 0;

	constructor(deps: DownloaderDeps, job: MultiSourceJob, manifest: PartsManifest, store: PartStore, reused: number[], inUse: ScoredHolder[], spares: ScoredHolder[]) {
		this.#deps = deps;
		this.#job = job;
		this.#manifest = manifest;
		this.#store = store;
		this.#holders = new Map(inUse.map(holder => [holder.id, holder]));
		this.#spares = [...spares];
		const {size} = job.found;
		const bytes = Array.from({length: partCount(size, manifest.partSize)}, (_, index) => {
			const span = partSpan(index, size, manifest.partSize);
			return span.end - span.start;
		});
		this.#reused = reused;
		this.#scheduler = new PartScheduler(bytes, reused);
	}

	async run(): Promise<MultiSourceOutcome> {
		const scheduler = this.#scheduler;
		const {found} = this.#job;
		for (const holder of this.#holders.values()) {
			scheduler.join(holder.id);
			this.#deps.onEvent?.({type: 'holder-chosen', name: found.name, id: holder.id});
		}

		this.#deps.onEvent?.({type: 'start', name: found.name, from: [...this.#holders.keys()].join('+'), size: found.size});
		try {
			for (;;) {
				this.#dispatch();
				if (this.#fatal || !scheduler.busy) {
					break;
				}

				await new Promise<void>(resolve => {
					const timer = setTimeout(resolve, reconsiderMs);
					this.#wake = () => {
						clearTimeout(timer);
						resolve();
					};
				});
			}
		} finally {
			this.#stop.abort();
			await Promise.allSettled(this.#pending);
			for (const {http, https} of this.#agents.values()) {
				// Got's agent slots may hold false (no agent): only real agents have sockets to close.
				(http === false ? undefined : http)?.destroy();
				(https === false ? undefined : https)?.destroy();
			}
		}

		if (this.#fatal) {
			throw this.#fatal.error;
		}

		this.#emitProgress(true);
		if (!scheduler.finished) {
			return {outcome: 'failed'};
		}

		return this.#finish();
	}

	#dispatch(): void {
		const scheduler = this.#scheduler;
		for (const id of scheduler.idleHolders()) {
			const assignment = scheduler.next(id, Date.now());
			if (assignment) {
				this.#track(this.#fetch(this.#holders.get(id)!, assignment));
			}
		}
	}

	async #fetch(holder: ScoredHolder, assignment: Assignment): Promise<void> {
		const scheduler = this.#scheduler;
		const {found} = this.#job;
		const part = partSpan(assignment.part, found.size, this.#manifest.partSize);
		const span = assignment.from === undefined ? part : {start: part.start + assignment.from, end: part.end};
		const into = Buffer.allocUnsafe(span.end - span.start);
		const head = assignment.from === undefined ? this.#split.startHead(holder.id, assignment.part, into) : undefined;

		const cancel = new AbortController();
		this.#fetches.set(holder.id, cancel);
		const timeouts = stallTimeouts(holder.latencyMs * this.#deps.latencyScale, this.#deps.idleFloorMs);
		try {
			await fetchPart({
				url: holder.url,
				name: found.name,
				requesterId: this.#deps.id,
				span,
				fileSize: found.size,
				firstByteTimeoutMs: timeouts.firstByteMs,
				idleTimeoutMs: timeouts.idleMs,
				agent: this.#agentFor(holder),
				secret: this.#deps.secret,
				into,
				signal: AbortSignal.any([cancel.signal, this.#stop.signal]),
				onBytes: received => {
					scheduler.progress(holder.id, received, Date.now());
					if (head) {
						head.received = received;
						this.#joinTail(assignment.part);
					}

					this.#emitProgress(false);
				},
			});
			if (cancel.signal.aborted || this.#stop.signal.aborted) {
				// A racer won (or the download stopped) while the last bytes were in flight.
				return;
			}

			if (assignment.from !== undefined) {
				// A tail: checked once the holder of the head has reached the cut.
				this.#split.addTail(assignment.part, {holder: holder.id, from: assignment.from, bytes: into});
				this.#joinTail(assignment.part);
				return;
			}

			if (!partMatches(into, this.#manifest.md5s[assignment.part])) {
				this.#corrupt(holder.id);
				return;
			}

			this.#completed(holder.id, part, into);
		} catch (error) {
			if (cancel.signal.aborted || this.#stop.signal.aborted) {
				return;
			}

			if (!(error instanceof TransferError)) {
				this.#fail(error);
				return;
			}

			if (error.outcome === 'checksum-mismatch') {
				this.#corrupt(holder.id);
				return;
			}

			this.#cancel(scheduler.retire(holder.id, 'failed'));
			record(this.#deps, this.#job, holder.id, error.outcome);
			if (isSuspect(error.outcome)) {
				this.#deps.suspect(holder.id);
			}

			this.#replace(holder.id, 'down');
		} finally {
			if (this.#fetches.get(holder.id) === cancel) {
				this.#fetches.delete(holder.id);
			}

			if (head) {
				this.#split.endHead(holder.id, head);
			}
		}
	}

	/** A part checked out: the holder is credited, racers are cancelled, the bytes go to disk. */
	#completed(id: string, span: ByteSpan, bytes: Buffer): void {
		const {won, cancel} = this.#scheduler.complete(id, Date.now());
		this.#cancel(cancel);
		// The holder is free now: its next request need not wait for this part to reach the disk.
		this.#wake?.();
		if (won) {
			this.#track(this.#store.write(span, bytes).then(() => {
				this.#emitProgress(true);
			}, (error: unknown) => {
				this.#fail(error);
			}));
		}
	}

	/** Checks a part whose tail has arrived as soon as the holder of its head has reached the cut. */
	#joinTail(index: number): void {
		const joined = this.#split.join(index);
		if (!joined) {
			return;
		}

		if (partMatches(joined.bytes, this.#manifest.md5s[index])) {
			this.#completed(joined.holder, partSpan(index, this.#job.found.size, this.#manifest.partSize), joined.bytes);
		} else {
			// Head and tail came from two holders: there is no telling which one was wrong.
			this.#scheduler.tailRejected(joined.holder);
			this.#wake?.();
		}
	}

	/** Stops fetches whose work is no longer needed (a racer won, or the head they depended on is gone). */
	#cancel(ids: readonly string[]): void {
		for (const id of ids) {
			this.#fetches.get(id)?.abort();
			this.#split.dropTailsOf(id);
		}
	}

	#track(work: Promise<void>): void {
		this.#pending.add(work);
		void work.finally(() => {
			this.#pending.delete(work);
			this.#wake?.();
		});
	}

	/** An error that is not a holder's fault (the disk, a bug): the download stops with it. */
	#fail(error: unknown): void {
		this.#fatal ??= {error};
		this.#stop.abort();
		this.#wake?.();
	}

	/** A bad part: fetched again elsewhere; a holder that sends bad parts too often is out. */
	#corrupt(id: string): void {
		const scheduler = this.#scheduler;
		const holder = this.#holders.get(id);
		if (holder) {
			this.#deps.reportMismatch?.(holder, this.#job.found.name);
		}

		this.#cancel(scheduler.corrupt(id));
		record(this.#deps, this.#job, id, 'checksum-mismatch');
		const {mismatches} = this.#job.record;
		const count = (mismatches.get(id) ?? 0) + 1;
		mismatches.set(id, count);
		if (count >= maxMismatchesPerHolder) {
			scheduler.retire(id, 'corrupt');
			this.#replace(id, 'checksum');
		} else {
			this.#emitProgress(true);
		}
	}

	/** A holder is out: the next holder not yet in use (if any) takes its place. */
	#replace(id: string, why: DropReason): void {
		const scheduler = this.#scheduler;
		const {name} = this.#job.found;
		this.#deps.onEvent?.({type: 'holder-dropped', name, id, why});
		const spare = this.#spares.shift();
		if (spare) {
			this.#holders.set(spare.id, spare);
			scheduler.join(spare.id);
			this.#deps.onEvent?.({type: 'holder-chosen', name, id: spare.id});
		}

		this.#emitProgress(true);
	}

	async #finish(): Promise<MultiSourceOutcome> {
		const scheduler = this.#scheduler;
		const {found, finalPath} = this.#job;
		const sources = scheduler.snapshot()
			.filter(source => source.received > 0 || source.parts > 0)
			.map(source => ({id: source.id, parts: source.parts, received: source.received}))
			.sort((a, b) => b.parts - a.parts || b.received - a.received || (a.id < b.id ? -1 : 1));
		const contributors = sources.filter(source => source.parts > 0).map(source => source.id);
		if (!await this.#store.matchesWhole(found.md5)) {
			// Every part matched a list the holders agreed on, yet the whole does not: drop it all.
			await this.#store.discard();
			for (const id of contributors) {
				record(this.#deps, this.#job, id, 'checksum-mismatch');
				this.#job.record.mismatches.set(id, (this.#job.record.mismatches.get(id) ?? 0) + 1);
			}

			return {outcome: 'failed'};
		}

		for (const id of contributors) {
			record(this.#deps, this.#job, id, 'ok');
		}

		try {
			await this.#store.placeInto(finalPath);
		} catch (error) {
			// The name was taken meanwhile (ALREADY_HAVE): these parts are of no further use.
			await this.#store.discard();
			throw error;
		}

		await this.#deps.announce({name: found.name, md5: found.md5, size: found.size});
		const reusedBytes = this.#reused.reduce((total, index) => {
			const span = partSpan(index, found.size, this.#manifest.partSize);
			return total + span.end - span.start;
		}, 0);
		return {
			outcome: 'ok',
			result: {
				name: found.name,
				path: path.join(this.#deps.shownDir ?? this.#deps.shareDir, found.name),
				md5: found.md5,
				size: found.size,
				from: contributors[0] ?? '',
				attempts: this.#job.record.attempts,
				sources,
				partSize: this.#manifest.partSize,
				reused: {parts: this.#reused.length, bytes: reusedBytes},
			},
		};
	}

	/** One keep-alive connection per holder: its part requests follow one another without a new handshake each. */
	#agentFor(holder: ScoredHolder): Agents {
		let agent = this.#agents.get(holder.id);
		if (!agent) {
			const options = {keepAlive: true, maxSockets: 1};
			agent = holder.url.startsWith('https:') ? {https: new https.Agent(options)} : {http: new http.Agent(options)};
			this.#agents.set(holder.id, agent);
		}

		return agent;
	}

	#emitProgress(force: boolean): void {
		const scheduler = this.#scheduler;
		const now = Date.now();
		if (!this.#deps.onEvent || (!force && now - this.#lastEvent < eventIntervalMs)) {
			return;
		}

		this.#lastEvent = now;
		const {name, size} = this.#job.found;
		this.#deps.onEvent({type: 'progress', name, from: [...this.#holders.keys()].join('+'), received: scheduler.receivedBytes, size});
		this.#deps.onEvent({type: 'sources', name, sources: scheduler.snapshot()});
	}
}

function record(deps: DownloaderDeps, job: MultiSourceJob, peer: string, outcome: Outcome): void {
	const attempt = {peer, outcome};
	job.record.attempts.push(attempt);
	deps.onEvent?.({type: 'attempt', name: job.found.name, attempt});
}
