/**
 * Multi-source download: parts of one file from several holders at once, each part checked
 * against the parts list most holders agree on, written in place and recorded so that a
 * later download resumes from it; the whole file is checked against the tracker's md5 last.
 * In a swarm, each verified part is served at once, and peers still downloading the file
 * are sources for the parts they have (their part maps re-read as they grow).
 */
import http from 'node:http';
import path from 'node:path';
import https from 'node:https';
import type {Agents} from 'got';
import type {ScoredHolder} from '../core/cost.js';
import {fetchPart, getPartsList} from '../clients/part-fetch.js';
import {chooseManifest, type PartsManifest} from '../core/manifest-vote.js';
import {defaultPartSize, partCount, partSpan, type ByteSpan} from '../core/part-geometry.js';
import {PartScheduler, type Assignment} from '../core/part-scheduler.js';
import {freeBytes} from '../share/free-space.js';
import {hasResumableParts, PartStore, resumableBytes} from '../share/part-store.js';
import {resumableDir} from '../share/share-dir.js';
import {TransferError} from '../clients/peer-client.js';
import {isSuspect, maxMismatchesPerHolder, stallTimeouts} from '../core/retry-policy.js';
import type {DownloadResult, DropReason, Outcome} from '../core/transfer-types.js';
import {localFault, LocalFaultError} from '../common/errors.js';
import type {FindReply, PartialHolderRef} from '../common/wire.js';
import {decodePartMap} from '../core/part-map.js';
import type {PartialHandle} from '../share/partial-holdings.js';
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

/** Swarm: how often the tracker is asked again for partial holders during a download (a bound on Find traffic): often while there is room for more sources. */
const refindMs = 500;
const refindFullMs = 2000;
/** Swarm: a source's part map is asked for again as soon as it answers, to wait up to this long for its next part (a long poll, BitTorrent's HAVE). */
const mapWaitMs = 5000;
/**
 * Swarm: least time between two reads of one source's part map. A source in a crowd gains a part every
 * fraction of a second, so a read per part is several requests a second to each of up to 16 sources,
 * each an HTTP exchange on both peers' CPU; once a second keeps each map at most a second old.
 */
const minPollMs = 1000;
/**
 * Swarm, a replica chain: the preferred partial holder is the one source of this copy, so its map is
 * long-polled again almost at once (about one read per part it gains, BitTorrent's HAVE): the copy learns
 * of its last part when it lands there, not up to minPollMs later. The floor bounds the reads of a source
 * that answers each long poll at once.
 */
const preferredPollMs = 50;
/** Swarm: the part maps of this many partial holders are read at once (at least --max-sources): parts are chosen rarest first across all of them, and fetched from at most --max-sources of them at a time. */
const watchedMaps = 16;
/** Swarm: a partial holder that failed is not taken again for this long. */
const asideMs = 5000;
/** Swarm: a partial source with nothing useful this long gives its place to another candidate. */
const uselessForMs = 3000;
/** Swarm: with every source out of useful parts and no holder of the whole file, how long to wait for parts to appear. */
const swarmWaitMs = 10_000;
/** Swarm, a replica chain: how long the preferred partial holder may have nothing new before the holders of the whole file are asked again (below swarmWaitMs). */
const preferWaitMs = 5000;
/** A holder that answers BUSY is asked again after its Retry-After (1 s); this many BUSYs in a row and it is out. */
const busyPauseMs = 1000;
const maxBusyInARow = 30;

/** Swarm: a partial source's part map as this run reads it; `full` once it holds the whole file (no more reads). */
type MapState = {polledAt: number; polling: boolean; have: number; full: boolean; failures: number; uselessSince?: number};
/** Swarm: a source whose part map cannot be read this many times in a row is out. */
const maxPollFailures = 3;

/** Resumable state dirs in use by a download of this process. */
const running = new Set<string>();

export async function multiSourceDownload(deps: DownloaderDeps, job: MultiSourceJob): Promise<MultiSourceOutcome> {
	const {found} = job;
	const maxSources = deps.maxSources ?? 1;
	const partSize = deps.partSize ?? defaultPartSize;
	if (maxSources < 2 || found.size <= partSize) {
		return {outcome: 'not-used'};
	}

	// In a swarm a download by parts pays even from one holder: its parts are served as they arrive.
	if (job.holders.length < 2 && !deps.partial && !await hasResumableParts(deps.shareDir, found.name, found.md5)) {
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

		let shared: PartialHandle | undefined;
		try {
			const reused = await store.reusableParts(choice.manifest);
			// Swarm: the parts verified so far are served (and announced) at once, the ones kept from an earlier run too.
			shared = shareParts(deps, found, choice.manifest, {dataPath: store.dataPath, reused});
			return await new MultiSourceRun(deps, job, choice.manifest, store, reused, usable.slice(0, maxSources), usable.slice(maxSources), shared).run();
		} catch (error) {
			throw await asLocalFault(error, store, deps, found);
		} finally {
			shared?.close();
			await store.close();
		}
	} finally {
		running.delete(lock);
	}
}

/** Swarm: lists the download's parts for serving, the ones kept from an earlier run at once. */
function shareParts(deps: DownloaderDeps, found: FindReply, manifest: PartsManifest, {dataPath, reused}: {dataPath: string; reused: number[]}): PartialHandle | undefined {
	return deps.partial?.open({name: found.name, md5: found.md5, size: found.size, partSize: manifest.partSize, md5s: manifest.md5s, dataPath}, reused);
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
	/** Swarm: keep-alive connections for the long polls of part maps (one request after another to each source). */
	readonly #mapAgent = new http.Agent({keepAlive: true});
	readonly #pending = new Set<Promise<void>>();
	readonly #stop = new AbortController();
	#fatal: {error: unknown} | undefined;
	#wake: (() => void) | undefined;
	readonly #reused: number[];
	#lastEvent = 0;
	/** Swarm: where verified parts are listed for serving; undefined with --no-swarm. */
	readonly #shared: PartialHandle | undefined;
	/** Swarm: peers still downloading the file, known from Find; in use or waiting for a place. */
	readonly #pool = new Map<string, PartialHolderRef>();
	/** Swarm: sources whose part map is read (partial holders in use), with when it was last read and since when it has had nothing useful. */
	readonly #mapped = new Map<string, MapState>();
	/** Swarm: partial holders that failed, not offered again until then. */
	readonly #asideUntil = new Map<string, number>();
	/** Holders out of this run, never taken again. */
	readonly #out = new Set<string>();
	/** Holders that answered BUSY: paused until then, and how many BUSYs in a row. */
	readonly #paused = new Map<string, {until: number; inARow: number}>();
	#lastFind = 0;
	#finding = false;
	/** Swarm: when every source last ran out of useful parts (no holder of the whole file left). */
	#starvedSince: number | undefined;

	constructor(deps: DownloaderDeps, job: MultiSourceJob, manifest: PartsManifest, store: PartStore, reused: number[], inUse: ScoredHolder[], spares: ScoredHolder[], shared?: PartialHandle) {
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
		this.#shared = shared;
		// Swarm: rarest first, random ties (a random first part); otherwise parts in file order.
		this.#scheduler = new PartScheduler(bytes, reused, {random: shared ? (deps.random ?? Math.random) : undefined});
		for (const ref of shared ? job.found.partial ?? [] : []) {
			this.#offer(ref);
		}

		this.#lastFind = Date.now();
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
				this.#swarm(Date.now());
				this.#dispatch();

				if (this.#fatal || scheduler.finished || (!scheduler.busy && !this.#waitingForMore(Date.now()))) {
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
			this.#mapAgent.destroy();
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
		const now = Date.now();
		// Swarm: parts come from at most --max-sources partial holders at once, of all those whose maps are read.
		let partialRoom = (this.#deps.maxSources ?? 1) - [...this.#fetches.keys()].filter(id => this.#mapped.has(id)).length;
		const seedsHeldBack = this.#seedsHeldBack(now);
		for (const id of scheduler.idleHolders()) {
			if ((this.#paused.get(id)?.until ?? 0) > now) {
				continue;
			}

			const partialSource = this.#mapped.has(id);
			if ((partialSource && partialRoom <= 0) || (seedsHeldBack && !partialSource)) {
				continue;
			}

			const assignment = scheduler.next(id, now);
			if (assignment) {
				partialRoom -= partialSource ? 1 : 0;
				this.#track(this.#fetch(this.#holders.get(id)!, assignment));
			}
		}
	}

	/** Swarm, a replica chain: the preferred partial holder is a source and has had something new within preferWaitMs, so the whole file's holders wait. */
	#seedsHeldBack(now: number): boolean {
		const id = this.#deps.preferPartial;
		const entry = id === undefined ? undefined : this.#mapped.get(id);
		return entry !== undefined && (entry.uselessSince === undefined || now - entry.uselessSince < preferWaitMs);
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
				onSuggest: this.#shared && (parts => {
					scheduler.suggest(holder.id, parts);
				}),
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

			this.#paused.delete(holder.id);
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

			if (error.outcome === 'busy' && this.#pause(holder.id)) {
				return;
			}

			this.#cancel(scheduler.retire(holder.id, 'failed'));
			record(this.#deps, this.#job, holder.id, error.outcome);
			if (isSuspect(error.outcome)) {
				this.#deps.suspect(holder.id);
			}

			this.#replace(holder.id, 'down');
			this.#setAside(holder.id);
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
			const index = Math.floor(span.start / this.#manifest.partSize);
			this.#track(this.#store.write(span, bytes).then(() => {
				// On disk and on record: served from now on.
				this.#shared?.add(index);
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
		const partialSource = this.#mapped.has(id) || this.#pool.has(id);
		if (holder && !partialSource) {
			this.#deps.reportMismatch?.(holder, this.#job.found.name);
		}

		this.#cancel(scheduler.corrupt(id));
		record(this.#deps, this.#job, id, 'checksum-mismatch');
		const {mismatches} = this.#job.record;
		// A partial holder's parts are second-hand: one bad part and it is not asked again, in this round or the next.
		const count = partialSource ? maxMismatchesPerHolder : (mismatches.get(id) ?? 0) + 1;
		mismatches.set(id, count);
		if (count >= maxMismatchesPerHolder) {
			this.#out.add(id);
			this.#mapped.delete(id);
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
		// A partial source's place goes to the next partial holder (swarm), not to a spare holder of the whole file.
		const spare = this.#pool.has(id) ? undefined : this.#spares.shift();
		if (spare) {
			this.#holders.set(spare.id, spare);
			scheduler.join(spare.id);
			this.#deps.onEvent?.({type: 'holder-chosen', name, id: spare.id});
		}

		this.#emitProgress(true);
	}

	/** A holder answered BUSY: it is asked again after a pause (its part goes to others meanwhile); false once it has been busy too often. */
	#pause(id: string): boolean {
		const inARow = (this.#paused.get(id)?.inARow ?? 0) + 1;
		if (inARow > maxBusyInARow) {
			return false;
		}

		this.#paused.set(id, {until: Date.now() + busyPauseMs, inARow});
		this.#cancel(this.#scheduler.release(id));
		return true;
	}

	/** Whether an idle run should wait rather than end: a holder paused for BUSY, or (swarm) sources whose part maps may still grow. */
	#waitingForMore(now: number): boolean {
		if ([...this.#paused.values()].some(pause => pause.until > now) || this.#finding) {
			return true;
		}

		if (!this.#shared) {
			return false;
		}

		this.#starvedSince ??= now;
		return now - this.#starvedSince < swarmWaitMs;
	}

	/** Swarm: a peer still downloading the file, from Find; taken as a source when there is a place for it. */
	#offer(ref: PartialHolderRef): void {
		const trusted = (this.#job.record.mismatches.get(ref.id) ?? 0) < maxMismatchesPerHolder;
		const aside = (this.#asideUntil.get(ref.id) ?? 0) > Date.now();
		if (ref.id !== this.#deps.id && trusted && !aside && !this.#out.has(ref.id) && !this.#holders.has(ref.id)) {
			const known = this.#pool.has(ref.id);
			this.#pool.set(ref.id, ref);
			if (!known) {
				this.#deps.onEvent?.({type: 'partial-holders', name: this.#job.found.name, holders: [ref]});
			}
		}
	}

	/**
	 * Swarm upkeep, on each turn of the loop: asks the tracker again for partial holders (at most
	 * every refindMs), gives free places to them (up to --max-sources besides the holders of the
	 * whole file), swaps out one that has had nothing useful for a while when others wait, and
	 * keeps a long poll of each partial source's part map open.
	 */
	#swarm(now: number): void {
		if (!this.#shared || this.#stop.signal.aborted) {
			return;
		}

		const scheduler = this.#scheduler;
		if (scheduler.busy) {
			this.#starvedSince = undefined;
		}

		this.#refind(now);
		const maxPartial = Math.max(this.#deps.maxSources ?? 1, watchedMaps);
		const waiting = [...this.#pool.values()].filter(ref => !this.#mapped.has(ref.id) && !this.#out.has(ref.id));
		for (const [id, entry] of this.#mapped) {
			if (waiting.length > 0 && entry.uselessSince !== undefined && now - entry.uselessSince >= uselessForMs) {
				// Its place goes to another; it may come back later with more parts.
				this.#fetches.get(id)?.abort();
				this.#cancel(scheduler.retire(id, 'failed'));
				this.#mapped.delete(id);
				this.#holders.delete(id);
				this.#pool.delete(id);
			}
		}

		while (this.#mapped.size < maxPartial && waiting.length > 0) {
			const ref = waiting.shift()!;
			const holder: ScoredHolder = {id: ref.id, url: ref.url, latencyMs: this.#deps.latencyTo(ref.id), load: 0, cost: 0};
			this.#holders.set(ref.id, holder);
			scheduler.join(ref.id, new Set());
			this.#mapped.set(ref.id, {polledAt: 0, polling: false, have: -1, full: false, failures: 0});
			this.#deps.onEvent?.({type: 'holder-chosen', name: this.#job.found.name, id: ref.id});
		}

		for (const [id, entry] of this.#mapped) {
			const useful = scheduler.hasUseful(id);
			if (useful) {
				entry.uselessSince = undefined;
			} else {
				entry.uselessSince ??= now;
			}

			if (!entry.polling && !entry.full && now - entry.polledAt >= this.#pollGapMs(id, entry)) {
				this.#poll(id, entry);
			}
		}
	}

	/** Least time between two reads of a source's map: short for a chain's predecessor that answered its last read, else minPollMs (a failing source is not asked again at once). */
	#pollGapMs(id: string, entry: MapState): number {
		return this.#pollsAtOnce(id, entry) ? preferredPollMs : minPollMs;
	}

	/** Whether a source's map is read again as soon as it answers: a chain's predecessor, while its reads succeed. */
	#pollsAtOnce(id: string, entry: MapState): boolean {
		return id === this.#deps.preferPartial && entry.failures === 0;
	}

	/** Asks the tracker again for partial holders, at most every refindMs. */
	#refind(now: number): void {
		const room = this.#mapped.size < (this.#deps.maxSources ?? 1);
		if (this.#finding || now - this.#lastFind < (room ? refindMs : refindFullMs)) {
			return;
		}

		this.#finding = true;
		this.#lastFind = now;
		this.#track(this.#deps.locate(this.#job.found.name).then(found => {
			if (found.md5 === this.#job.found.md5 && found.size === this.#job.found.size) {
				for (const ref of found.partial ?? []) {
					this.#offer(ref);
				}
			}
		}, () => {}).finally(() => {
			this.#finding = false;
		}));
	}

	/** Re-reads a source's part map; a map that disagrees with the parts list in use puts the source out. */
	#poll(id: string, entry: MapState): void {
		const holder = this.#holders.get(id);
		if (!holder) {
			return;
		}

		entry.polling = true;
		const {found} = this.#job;
		// The first read answers at once; later ones wait for the source's next part.
		const wait = entry.have < 0 ? {} : {after: entry.have, waitMs: mapWaitMs};
		const agent = holder.url.startsWith('https:') ? undefined : {http: this.#mapAgent};
		this.#track(getPartsList(holder.url, found.name, {timeoutMs: 5000, secret: this.#deps.secret, signal: this.#stop.signal, agent, ...wait}).then(reply => {
			if (this.#mapped.get(id) !== entry) {
				return;
			}

			const same = reply.size === found.size && reply.partSize === this.#manifest.partSize && reply.md5s.length === this.#manifest.md5s.length
				&& reply.md5s.every((md5, index) => md5 === this.#manifest.md5s[index]);
			const has = reply.partial ? decodePartMap(reply.partial.bitmap, reply.md5s.length) : undefined;
			if (!same || (reply.partial && !has)) {
				this.#drop(id, 'checksum');
				return;
			}

			entry.failures = 0;
			entry.have = has?.size ?? reply.md5s.length;
			entry.full = !has;
			this.#scheduler.setHas(id, has);
			this.#wake?.();
		}, () => {
			if (this.#mapped.get(id) === entry && !this.#stop.signal.aborted && ++entry.failures >= maxPollFailures) {
				this.#drop(id, 'down');
			}
		}).finally(() => {
			entry.polling = false;
			entry.polledAt = Date.now();
			if (this.#pollsAtOnce(id, entry) && !this.#stop.signal.aborted) {
				// Its next long poll goes out preferredPollMs from now, not at the next reconsideration.
				setTimeout(() => this.#wake?.(), preferredPollMs).unref();
			}
		}));
	}

	#drop(id: string, why: DropReason): void {
		this.#fetches.get(id)?.abort();
		this.#cancel(this.#scheduler.retire(id, why === 'checksum' ? 'corrupt' : 'failed'));
		this.#replace(id, why);
		if (why === 'checksum') {
			this.#out.add(id);
			this.#mapped.delete(id);
		} else {
			this.#setAside(id);
		}
	}

	/**
	 * A holder that failed is out of this run; a partial holder only for a while (swarm): one that
	 * refused a request as it finished its download, or was slow under load, may be offered again.
	 */
	#setAside(id: string): void {
		const partialSource = this.#mapped.has(id);
		this.#mapped.delete(id);
		if (partialSource) {
			this.#asideUntil.set(id, Date.now() + asideMs);
			this.#pool.delete(id);
			this.#holders.delete(id);
		} else {
			this.#out.add(id);
		}
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
