/**
 * A remote file read through the mount, fetched on demand by verified parts. The parts a read
 * needs (and its read-ahead) come from the cheapest holders, each checked against the parts list
 * most holders agree on before a byte of it is returned; readers of one file share one fetch.
 * Once every part is in, the whole md5 is checked and the file is placed in the share dir and
 * published, as a download by parts would.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import type {Agents} from 'got';
import md5File from 'md5-file';
import {fetchPart} from '../clients/part-fetch.js';
import {TransferError} from '../clients/peer-client.js';
import {localFault, XfsError} from '../common/errors.js';
import type {FindReply, HolderRef} from '../common/wire.js';
import {rankHolders, type Candidate, type ScoredHolder} from '../core/cost.js';
import {chooseManifest, type PartsManifest} from '../core/manifest-vote.js';
import type {MountEvent} from '../core/mount-events.js';
import type {Errno} from '../core/mount-rules.js';
import {pickHolder, smoothedRate} from '../core/part-demand.js';
import {partCount, partSpan} from '../core/part-geometry.js';
import {ReadAhead} from '../core/read-plan.js';
import {isSuspect, maxMismatchesPerHolder, nextDelayWithin, stallTimeouts, type Outcome} from '../core/retry-policy.js';
import {PartStore} from '../share/part-store.js';
import {probeLoads, type DownloaderDeps} from '../transfer/download-context.js';
import {askPartsLists} from '../transfer/parts-lists.js';
import type {Deadline} from './deadline.js';
import type {PartCache} from './part-cache.js';
import type {PartBuffers} from './part-buffers.js';
import type {PartHasher} from './part-hasher.js';

/** A FUSE operation's failure, with the errno the caller gets. */
export class MountError extends Error {
	readonly errno: Errno;

	constructor(errno: Errno, message: string, options?: {cause?: unknown}) {
		super(message, options);
		this.name = 'MountError';
		this.errno = errno;
	}
}

export type RemoteFileContext = {
	/** The download services (Find, GetLoad, ranking, suspect reports, announce), against the share dir's pinned handle. */
	deps: DownloaderDeps;
	hasher: PartHasher;
	/** Verified parts in memory; they own the buffers they hold and give them back to `buffers`. */
	cache: PartCache;
	buffers: PartBuffers;
	onEvent: (event: MountEvent) => void;
	notice: (message: string) => void;
	/** The file is placed and published: new opens read it from the share dir. */
	onPlaced: (name: string) => void;
};

/** One open file handle reading this file: its own read-ahead, and the parts it wants next. */
export type RemoteReader = {readAhead?: ReadAhead; ahead: number[]};

/** Silence beyond --peer-wait after which a read gives up (the holders' own retries end at --peer-wait). */
export const readSlackMs = 5000;
/** Read-ahead waits while this many verified parts are not yet on disk (a slow disk must not fill memory). */
const maxUnwrittenParts = 4;
const eventIntervalMs = 100;

type Holder = ScoredHolder & {agent: Agents; inFlight: number; pendingBytes: number; bytesPerMs?: number; fetches: Set<AbortController>};
type Waiter = {resolve: () => void; reject: (error: Error) => void};
type PartState = {state: 'missing' | 'fetching' | 'verified'; onDisk: boolean; bytes: number; waiters: Waiter[]};

let nextRead = 1;

export class RemoteFile {
	readonly name: string;
	readonly md5: string;
	readonly size: number;
	readonly read = nextRead++;
	readonly #ctx: RemoteFileContext;
	readonly #readers = new Set<RemoteReader>();
	#manifest: PartsManifest | undefined;
	#parts: PartState[] = [];
	#holders: Holder[] = [];
	#spares: ScoredHolder[] = [];
	/** Wrong parts (or lists) by holder: at maxMismatchesPerHolder it is out for this file. */
	readonly #mismatches = new Map<string, number>();
	/** Holders that sent verified parts: if the whole file does not match, they are to blame. */
	readonly #contributors = new Set<string>();
	#store: PartStore | undefined;
	#data: fs.FileHandle | undefined;
	#connecting: Promise<void> | undefined;
	#phase: 'fetching' | 'finishing' | 'placed' = 'fetching';
	#closed = false;
	readonly #writes = new Set<Promise<void>>();
	/** Parts a read is waiting for. */
	readonly #waited = new Set<number>();
	#unwritten = 0;
	#inFlight = 0;
	#releaseLoad: (() => void) | undefined;
	#progressAt = Date.now();
	#verifiedBytes = 0;
	#receivingBytes = 0;
	#started = false;
	#lastEvent = 0;

	constructor(ctx: RemoteFileContext, file: {name: string; md5: string; size: number}) {
		this.#ctx = ctx;
		this.name = file.name;
		this.md5 = file.md5;
		this.size = file.size;
	}

	get readers(): number {
		return this.#readers.size;
	}

	get placed(): boolean {
		return this.#phase === 'placed';
	}

	/** Bytes fetched so far that were checked against the parts list. */
	get verifiedBytes(): number {
		return this.#verifiedBytes;
	}

	openReader(): RemoteReader {
		const reader: RemoteReader = {ahead: []};
		this.#readers.add(reader);
		// Holders and the parts list are looked for at open, so the first read does not wait for them alone.
		if (!this.#manifest) {
			this.#connect().catch(() => {});
		}

		return reader;
	}

	releaseReader(reader: RemoteReader): void {
		this.#readers.delete(reader);
		reader.ahead = [];
	}

	/**
	 * Bytes [offset, offset + length) as verified chunks, in order (fewer at the end of the file):
	 * at once when their parts are in memory, which is where read-ahead puts them. Fails with EIO
	 * when no holder can serve them: at once when nobody holds the file, within --peer-wait when
	 * every holder failed, and when nothing arrives for --peer-wait and a little more.
	 */
	readBytes(reader: RemoteReader, offset: number, length: number, deadline: Deadline): Buffer[] | Promise<Buffer[]> {
		const end = Math.min(this.size, offset + length);
		if (offset >= end) {
			return [];
		}

		const manifest = this.#manifest;
		if (!manifest) {
			return this.#waitFor(this.#connect(), deadline).then(async () => this.#readSlowly(reader, {offset, end}, deadline));
		}

		const aheadBefore = reader.ahead.at(-1);
		const needed = this.#plan(reader, offset, length);
		const inMemory = needed.every(index => this.#parts[index]!.state === 'verified' && this.#ctx.cache.has(this.#cacheKey(index)));
		if (!inMemory) {
			return this.#readSlowly(reader, {offset, end, needed}, deadline);
		}

		if (reader.ahead.at(-1) !== aheadBefore) {
			// The reader moved into a new part: its read-ahead reaches further.
			this.#dispatch();
		}

		return needed.map(index => {
			const span = partSpan(index, this.size, manifest.partSize);
			return this.#ctx.cache.get(this.#cacheKey(index))!.subarray(Math.max(offset, span.start) - span.start, Math.min(end, span.end) - span.start);
		});
	}

	/** The parts a read needs; its read-ahead is noted for dispatch. */
	#plan(reader: RemoteReader, offset: number, length: number): number[] {
		reader.readAhead ??= new ReadAhead(this.size, this.#manifest!.partSize);
		const {needed, ahead} = reader.readAhead.plan(offset, length);
		reader.ahead = ahead;
		return needed;
	}

	/** A read that waits: for the parts list, for its parts from the network, or for the disk. */
	async #readSlowly(reader: RemoteReader, {offset, end, needed = this.#plan(reader, offset, end - offset)}: {offset: number; end: number; needed?: number[]}, deadline: Deadline): Promise<Buffer[]> {
		for (;;) {
			const waiting = needed.flatMap(index => this.#ready(index) ? [] : [this.#waitForPart(index)]);
			if (waiting.length === 0) {
				this.#dispatch();
				const chunks = await this.#gather(needed, offset, end);
				if (chunks) {
					return chunks;
				}

				continue;
			}

			this.#dispatch();
			if (this.#holders.length === 0) {
				this.#connect().catch(() => {});
			}

			await this.#waitFor(Promise.all(waiting), deadline);
		}
	}

	/** Stops fetching: parts in flight are cancelled, verified ones stay on disk for a later read or download. */
	async close(): Promise<void> {
		if (this.#closed) {
			return;
		}

		this.#closed = true;
		const closed = new MountError('EIO', `${this.name} is no longer read`);
		for (const holder of this.#holders) {
			this.#dropHolder(holder);
		}

		this.#holders = [];
		this.#failWaiters(closed);
		await Promise.allSettled(this.#writes);
		if (this.#phase === 'fetching') {
			await this.#store?.close();
			this.#store = undefined;
		}

		await this.#data?.close().catch(() => {});
		this.#data = undefined;
		this.#ctx.cache.deleteAll(this.#cacheKey(''));
		this.#end('closed', `${this.name}: ${this.#verifiedBytes} of ${this.size} bytes read through the mount`);
	}

	#cacheKey(index: number | ''): string {
		return `${this.read}:${index}`;
	}

	#ready(index: number): boolean {
		const part = this.#parts[index]!;
		if (part.state !== 'verified') {
			return false;
		}

		if (part.onDisk || this.#ctx.cache.has(this.#cacheKey(index))) {
			return true;
		}

		// Verified but neither in memory nor on disk (its write failed and it was evicted): fetched again.
		part.state = 'missing';
		this.#verifiedBytes -= part.bytes;
		return false;
	}

	async #waitForPart(index: number): Promise<void> {
		this.#waited.add(index);
		return new Promise((resolve, reject) => {
			this.#parts[index]!.waiters.push({resolve, reject});
		});
	}

	/** Waits for `work`, but not past the caller's deadline nor past --peer-wait (and a little) without progress. */
	async #waitFor<T>(work: Promise<T>, deadline: Deadline): Promise<T> {
		const limitMs = this.#ctx.deps.allDownWaitMs + readSlackMs;
		const since = Date.now();
		let timer: NodeJS.Timeout | undefined;
		let stopListening: (() => void) | undefined;
		const watched = new Promise<never>((_resolve, reject) => {
			const check = () => {
				const silentMs = Date.now() - Math.max(since, this.#progressAt);
				if (silentMs >= limitMs) {
					reject(new MountError('EIO', `${this.name}: nothing arrived for ${Math.round(silentMs)} ms`));
					return;
				}

				timer = setTimeout(check, Math.min(1000, limitMs - silentMs));
			};

			check();
			stopListening = deadline.onExpire(() => {
				reject(new MountError('EIO', `${this.name}: the read took too long`));
			});
		});
		try {
			return await Promise.race([work, watched]);
		} finally {
			clearTimeout(timer);
			stopListening?.();
		}
	}

	/**
	 * The verified bytes of `needed` between offset and end; undefined when a part went missing
	 * meanwhile. Parts no longer in memory are read from disk first; the slices of those in memory
	 * are taken after the last wait, so the caller copies them before their buffer can be reused.
	 */
	async #gather(needed: number[], offset: number, end: number): Promise<Buffer[] | undefined> {
		const {partSize} = this.#manifest!;
		const spans = needed.map(index => {
			const span = partSpan(index, this.size, partSize);
			return {index, start: span.start, from: Math.max(offset, span.start), to: Math.min(end, span.end)};
		});
		const fromDisk = new Map<number, Buffer>();
		for (const {index, from, to} of spans) {
			if (this.#ctx.cache.has(this.#cacheKey(index))) {
				continue;
			}

			if (!this.#parts[index]!.onDisk || !this.#data) {
				this.#ready(index);
				return undefined;
			}

			const bytes = Buffer.allocUnsafe(to - from);
			for (let read = 0; read < bytes.length;) {
				const {bytesRead} = await this.#data.read(bytes, read, bytes.length - read, from + read);
				if (bytesRead === 0) {
					throw new MountError('EIO', `short read of the verified parts of ${this.name}`);
				}

				read += bytesRead;
			}

			fromDisk.set(index, bytes);
		}

		const chunks: Buffer[] = [];
		for (const {index, start, from, to} of spans) {
			const bytes = fromDisk.get(index) ?? this.#ctx.cache.get(this.#cacheKey(index))?.subarray(from - start, to - start);
			if (!bytes) {
				// Evicted while another part was read from disk: on disk too by now, read on the next pass.
				return undefined;
			}

			chunks.push(bytes);
		}

		return chunks;
	}

	/**
	 * Finds holders and, the first time, the parts list they agree on; in rounds with back-off while
	 * none answers, up to --peer-wait, as a download does. Fails every waiting read when it gives up.
	 */
	async #connect(): Promise<void> {
		this.#connecting ??= (async () => {
			const {deps} = this.#ctx;
			const started = Date.now();
			try {
				for (let round = 1; ; round++) {
					if (this.#closed) {
						throw new MountError('EIO', `${this.name} is no longer read`);
					}

					this.#progressAt = Date.now();
					if (await this.#tryHolders(round)) {
						return;
					}

					const delay = nextDelayWithin(round, Date.now() - started, deps.allDownWaitMs, deps.backoff);
					if (delay === undefined) {
						throw new MountError('EIO', `every holder of ${this.name} failed for ${deps.allDownWaitMs} ms (--peer-wait)`);
					}

					this.#ctx.notice(`mount: ${this.name}: no holder answers, trying again in ${(delay / 1000).toFixed(1)} s (up to --peer-wait ${deps.allDownWaitMs / 1000} s)`);
					await sleep(delay);
				}
			} catch (error) {
				const failure = error instanceof MountError ? error : new MountError('EIO', (error as Error).message, {cause: error});
				this.#failWaiters(failure);
				if (!this.#closed) {
					this.#ctx.notice(`mount: ${failure.message}: its reads fail (EIO)`);
				}

				this.#end('failed', failure.message);
				throw failure;
			} finally {
				this.#connecting = undefined;
			}
		})();
		return this.#connecting;
	}

	/** One round: Find, GetLoad, rank, and (the first time) the parts lists. True once holders are in use. */
	async #tryHolders(round: number): Promise<boolean> {
		const {deps} = this.#ctx;
		let found: FindReply;
		try {
			found = await deps.locate(this.name);
		} catch (error) {
			if (round === 1 && error instanceof XfsError && error.code === 'NOT_FOUND') {
				throw new MountError('EIO', `no peer holds ${this.name} any more`, {cause: error});
			}

			return false;
		}

		if (found.md5 !== this.md5 || found.size !== this.size) {
			throw new MountError('EIO', `${this.name} changed on the network while it was read (now md5 ${found.md5}, ${found.size} bytes)`);
		}

		const others = found.peers.filter(peer => peer.id !== deps.id);
		const eligible = others.filter(peer => (this.#mismatches.get(peer.id) ?? 0) < maxMismatchesPerHolder);
		if (others.length > 0 && eligible.length === 0) {
			throw new MountError('EIO', `every holder of ${this.name} sent bytes that do not match its parts list`);
		}

		let ranked = await this.#rank(eligible);
		if (ranked.length === 0) {
			return false;
		}

		if (!this.#manifest) {
			const choice = chooseManifest(await askPartsLists(ranked, found, deps.secret), this.size);
			if (!choice) {
				return false;
			}

			for (const id of choice.disagreeing) {
				// Its list says its bytes differ from the others': none of its parts would check out.
				this.#mismatches.set(id, maxMismatchesPerHolder);
			}

			ranked = ranked.filter(holder => !choice.disagreeing.includes(holder.id));
			if (ranked.length === 0) {
				return false;
			}

			await this.#useManifest(choice.manifest);
		}

		const maxSources = Math.max(1, deps.maxSources ?? 1);
		this.#holders = ranked.slice(0, maxSources).map(holder => withAgent(holder));
		this.#spares = ranked.slice(maxSources);
		this.#dispatch();
		return true;
	}

	async #rank(holders: HolderRef[]): Promise<ScoredHolder[]> {
		const {deps} = this.#ctx;
		const probed = await probeLoads(deps, holders);
		const candidates: Candidate[] = [];
		for (const {holder, load} of probed) {
			if (load === undefined) {
				deps.suspect(holder.id);
			} else {
				candidates.push({id: holder.id, url: holder.url, latencyMs: deps.latencyTo(holder.id), load});
			}
		}

		return rankHolders(candidates, {policy: deps.policy, k: deps.k, random: deps.random});
	}

	/** The parts list is chosen: the parts, and what an earlier read or download already verified on disk. */
	async #useManifest(manifest: PartsManifest): Promise<void> {
		const {deps} = this.#ctx;
		this.#manifest = manifest;
		this.#parts = Array.from({length: partCount(this.size, manifest.partSize)}, (_, index) => {
			const span = partSpan(index, this.size, manifest.partSize);
			return {state: 'missing', onDisk: false, bytes: span.end - span.start, waiters: []};
		});
		let store: PartStore | undefined;
		try {
			store = await PartStore.open(deps.shareDir, this, {hashWhole: false});
			for (const index of await store.reusableParts(manifest)) {
				const part = this.#parts[index]!;
				part.state = 'verified';
				part.onDisk = true;
				this.#verifiedBytes += part.bytes;
			}

			this.#data = await fs.open(store.dataPath, 'r');
			this.#store = store;
		} catch (error) {
			await store?.close();
			const fault = localFault(error, path.join(deps.shownDir ?? deps.shareDir, '.xfs', 'partial'), 'keep the parts of');
			this.#ctx.notice(`mount: ${this.name} is read without keeping its parts (${fault?.message ?? (error as Error).message}): it will not be placed in the share dir`);
		}

		this.#finishWhenWhole();
	}

	/** Hands the wanted parts to holders: first those a read waits for, then read-ahead, each in file order. */
	#dispatch(): void {
		if (!this.#manifest || this.#closed || this.#phase !== 'fetching') {
			return;
		}

		const waited = [...this.#waited].filter(index => this.#parts[index]!.state === 'missing').sort((a, b) => a - b);
		const ahead = new Set<number>();
		for (const reader of this.#readers) {
			for (const index of reader.ahead) {
				if (this.#parts[index]?.state === 'missing' && !this.#waited.has(index)) {
					ahead.add(index);
				}
			}
		}

		const wanted = [...waited, ...[...ahead].sort((a, b) => a - b)];
		for (const index of wanted) {
			if (!this.#waited.has(index) && this.#unwritten >= maxUnwrittenParts) {
				break;
			}

			const id = pickHolder(this.#holders, this.#parts[index]!.bytes, {latencyScale: this.#ctx.deps.latencyScale});
			if (id === undefined) {
				break;
			}

			void this.#fetch(this.#holders.find(holder => holder.id === id)!, index);
		}
	}

	async #fetch(holder: Holder, index: number): Promise<void> {
		const {deps} = this.#ctx;
		const part = this.#parts[index]!;
		const span = partSpan(index, this.size, this.#manifest!.partSize);
		const length = span.end - span.start;
		part.state = 'fetching';
		holder.inFlight++;
		holder.pendingBytes += length;
		this.#fetchStarted();
		const cancel = new AbortController();
		holder.fetches.add(cancel);
		const timeouts = stallTimeouts(holder.latencyMs * deps.latencyScale, deps.idleFloorMs);
		const startedAt = Date.now();
		let firstByteAt: number | undefined;
		let received = 0;
		const into = this.#ctx.buffers.take(this.#manifest!.partSize, length);
		try {
			await fetchPart({
				url: holder.url,
				name: this.name,
				requesterId: deps.id,
				span,
				fileSize: this.size,
				firstByteTimeoutMs: timeouts.firstByteMs,
				idleTimeoutMs: timeouts.idleMs,
				agent: holder.agent,
				secret: deps.secret,
				into,
				signal: cancel.signal,
				onBytes: bytes => {
					firstByteAt ??= Date.now();
					holder.pendingBytes -= bytes - received;
					this.#receivingBytes += bytes - received;
					received = bytes;
					this.#progressAt = Date.now();
					this.#progress(false);
				},
			});
			const {md5, bytes} = await this.#ctx.hasher.md5(into);
			if (cancel.signal.aborted) {
				this.#ctx.buffers.give(bytes);
				return;
			}

			if (md5 !== this.#manifest!.md5s[index]) {
				this.#ctx.buffers.give(bytes);
				this.#mismatch(holder, `part ${index} does not match its md5`);
				return;
			}

			holder.bytesPerMs = smoothedRate(holder.bytesPerMs, length, Date.now() - (firstByteAt ?? startedAt));
			this.#contributors.add(holder.id);
			this.#verified(index, bytes);
		} catch (error) {
			if (cancel.signal.aborted) {
				return;
			}

			const outcome: Exclude<Outcome, 'ok'> = error instanceof TransferError ? error.outcome : 'dropped';
			if (outcome === 'checksum-mismatch') {
				this.#mismatch(holder, (error as Error).message);
			} else {
				this.#retire(holder, outcome, (error as Error).message);
			}
		} finally {
			holder.inFlight--;
			holder.pendingBytes -= length - received;
			this.#receivingBytes -= received;
			holder.fetches.delete(cancel);
			if (part.state === 'fetching') {
				part.state = 'missing';
			}

			this.#fetchEnded();
			this.#dispatch();
		}
	}

	/** A part checked out: its readers go on, and it is written at its offset and recorded (as a download by parts would). */
	#verified(index: number, bytes: Buffer): void {
		const part = this.#parts[index]!;
		part.state = 'verified';
		this.#verifiedBytes += part.bytes;
		this.#progressAt = Date.now();
		const key = this.#cacheKey(index);
		const store = this.#store;
		this.#ctx.cache.put(key, bytes, {pinned: store !== undefined});
		this.#waited.delete(index);
		for (const waiter of part.waiters.splice(0)) {
			waiter.resolve();
		}

		this.#progress(true);
		if (!store) {
			return;
		}

		this.#unwritten++;
		const write = store.write(partSpan(index, this.size, this.#manifest!.partSize), bytes).then(() => {
			part.onDisk = true;
		}, (error: unknown) => {
			this.#noStore(error);
		}).finally(() => {
			this.#unwritten--;
			this.#ctx.cache.unpin(key);
			this.#writes.delete(write);
			this.#finishWhenWhole();
			this.#dispatch();
		});
		this.#writes.add(write);
	}

	/** Writing parts failed on this peer's disk: reads go on from the network and memory, the file will not be placed. */
	#noStore(error: unknown): void {
		const store = this.#store;
		if (!store) {
			return;
		}

		this.#store = undefined;
		void store.close();
		const {deps} = this.#ctx;
		const fault = localFault(error, path.join(deps.shownDir ?? deps.shareDir, '.xfs', 'partial'), 'write the parts of');
		this.#ctx.notice(`mount: ${this.name}: ${fault?.message ?? (error as Error).message}; reading it goes on, it will not be placed in the share dir`);
	}

	/** Wrong bytes: the part is fetched again (elsewhere when there is another holder); twice wrong, the holder is out. */
	#mismatch(holder: Holder, why: string): void {
		const count = (this.#mismatches.get(holder.id) ?? 0) + 1;
		this.#mismatches.set(holder.id, count);
		this.#ctx.notice(`mount: ${this.name}: holder ${holder.id} sent wrong bytes (${why}); nothing of it was returned`);
		if (count >= maxMismatchesPerHolder) {
			this.#retire(holder, 'checksum-mismatch', 'it sent wrong bytes twice');
		}
	}

	/** A holder is out: its requests are cancelled, the next holder not yet in use takes its place. */
	#retire(holder: Holder, outcome: Exclude<Outcome, 'ok'>, why: string): void {
		if (!this.#holders.includes(holder)) {
			return;
		}

		this.#holders = this.#holders.filter(other => other !== holder);
		this.#dropHolder(holder);
		const {deps} = this.#ctx;
		if (isSuspect(outcome)) {
			deps.suspect(holder.id);
		}

		const spare = this.#spares.shift();
		if (spare) {
			this.#holders.push(withAgent(spare));
		}

		this.#ctx.notice(`mount: ${this.name}: holder ${holder.id} is out (${outcome}: ${why})${spare ? `; ${spare.id} takes its place` : ''}`);
		if (this.#holders.length === 0 && this.#parts.some(part => part.waiters.length > 0)) {
			this.#connect().catch(() => {});
		}
	}

	#dropHolder(holder: Holder): void {
		for (const fetch of holder.fetches) {
			fetch.abort();
		}

		holder.fetches.clear();
		const {http: httpAgent, https: httpsAgent} = holder.agent;
		(httpAgent === false ? undefined : httpAgent)?.destroy();
		(httpsAgent === false ? undefined : httpsAgent)?.destroy();
	}

	#failWaiters(error: Error): void {
		this.#waited.clear();
		for (const part of this.#parts) {
			for (const waiter of part.waiters.splice(0)) {
				waiter.reject(error);
			}
		}
	}

	#finishWhenWhole(): void {
		if (this.#phase === 'fetching' && this.#store && this.#writes.size === 0 && this.#parts.every(part => part.onDisk)) {
			void this.#finish();
		}
	}

	/** Every part is in: the whole md5 is checked, and the file placed in the share dir and published. */
	async #finish(): Promise<void> {
		this.#phase = 'finishing';
		const {deps} = this.#ctx;
		const store = this.#store!;
		this.#store = undefined;
		try {
			// The file is at rest now: hashed once, by the library the share dir hashes with, after the reads it served.
			const md5 = await md5File(store.dataPath);
			if (md5 !== this.md5) {
				await store.discard();
				for (const id of this.#contributors) {
					this.#mismatches.set(id, (this.#mismatches.get(id) ?? 0) + 1);
				}

				this.#ctx.notice(`mount: ${this.name}: every part matched its list but the whole file does not match md5 ${this.md5}; its parts were dropped`);
				this.#forgetParts();
				this.#phase = 'fetching';
				return;
			}

			await store.placeInto(path.join(deps.shareDir, this.name));
			await deps.announce({name: this.name, md5: this.md5, size: this.size});
			this.#phase = 'placed';
			this.#ctx.onPlaced(this.name);
			const from = [...this.#contributors].sort().join(', ');
			const message = `${this.name} read whole through the mount${from ? ` (parts from ${from})` : ''}, checked (md5 ${this.md5}) and placed in ${deps.shownDir ?? deps.shareDir}: now shared`;
			this.#ctx.notice(`mount: ${message}`);
			this.#end('placed', message);
		} catch (error) {
			await store.discard().catch(() => {});
			this.#phase = 'fetching';
			const message = error instanceof XfsError ? error.message : (localFault(error, path.join(deps.shownDir ?? deps.shareDir, this.name), 'place')?.message ?? (error as Error).message);
			this.#ctx.notice(`mount: ${this.name}: not placed in the share dir (${message})`);
		}
	}

	/** Parts are no longer on disk (dropped after a bad whole): what is still in memory serves, the rest is fetched again. */
	#forgetParts(): void {
		for (const part of this.#parts) {
			part.onDisk = false;
		}

		void this.#data?.close().catch(() => {});
		this.#data = undefined;
	}

	#fetchStarted(): void {
		if (this.#inFlight++ === 0) {
			this.#releaseLoad = this.#ctx.deps.load.startDownload();
		}

		if (!this.#started) {
			this.#started = true;
			this.#ctx.onEvent({type: 'read-start', read: this.read, name: this.name, size: this.size, from: this.#from()});
		}
	}

	#fetchEnded(): void {
		if (--this.#inFlight === 0) {
			this.#releaseLoad?.();
			this.#releaseLoad = undefined;
		}
	}

	#from(): string {
		return this.#holders.map(holder => holder.id).join('+');
	}

	#progress(force: boolean): void {
		const now = Date.now();
		if (!this.#started || (!force && now - this.#lastEvent < eventIntervalMs)) {
			return;
		}

		this.#lastEvent = now;
		this.#ctx.onEvent({type: 'read-progress', read: this.read, name: this.name, from: this.#from(), received: Math.min(this.size, this.#verifiedBytes + this.#receivingBytes), size: this.size});
	}

	#end(outcome: 'placed' | 'closed' | 'failed', message: string): void {
		if (this.#started) {
			this.#started = false;
			this.#ctx.onEvent({type: 'read-end', read: this.read, name: this.name, outcome, message});
		}
	}
}

function withAgent(holder: ScoredHolder): Holder {
	// Kept-alive connections, as many as requests in flight: the next part goes out without a new handshake.
	const options = {keepAlive: true, maxSockets: 2};
	const agent: Agents = holder.url.startsWith('https:') ? {https: new https.Agent(options)} : {http: new http.Agent(options)};
	return {...holder, agent, inFlight: 0, pendingBytes: 0, fetches: new Set()};
}
