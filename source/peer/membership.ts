/**
 * The peer's membership at the tracker: the UpdateList (one at a time, so lists never arrive
 * out of order), heartbeats every --heartbeat-ms, the whole list again when the tracker does
 * not know this peer, tracker calls that wait with back-off while it is down, and the leave.
 * The decisions are TrackerLink's; this module does the calls and says what happened.
 */
import {EventEmitter} from 'node:events';
import {setTimeout as sleep} from 'node:timers/promises';
import {TrackerDownError, XfsError} from '../common/errors.js';
import {nextDelayWithin, trackerBackoff} from '../core/retry-policy.js';
import {rejoinReason, TrackerLink, type TrackerStatus} from '../core/tracker-link.js';
import type {TrackerClient, TrackerRetry} from '../clients/tracker-client.js';
import type {ChangeCounts, ListChanges} from '../core/share-index.js';
import {maxChangesPerBatch} from '../share/local-share.js';
import type {HeartbeatReply} from '../common/wire.js';
import {notices} from './notices.js';

export type MembershipEvents = {
	tracker: [TrackerStatus];
	notice: [string];
	/** A line on waiting for the tracker, and on rejoining. */
	retry: [string];
};

export type MembershipOptions = {
	id: string;
	heartbeatMs: number;
	/** How long a command waits for a tracker that is down (--tracker-wait). */
	trackerWaitMs: number;
	/** The list to send: whole, or as batches of changes; read at each call. */
	list: () => PublishedList;
	/** The URL to send it under. */
	url: () => string;
};

/** What the membership publishes: the peer's own list, whole or as batches of changes (LocalShare). */
export type PublishedList = {
	wholeList: () => {json: string; version: number; count: number};
	takeBatch: () => {from: number; to: number; changes: ListChanges; counts: ChangeCounts} | undefined;
	readonly hasPending: boolean;
	/** How many changes wait (some may cancel out). */
	readonly pendingCount: number;
};

/** How long leaving waits for a list still in flight. */
const leaveWaitMs = 3000;

export class Membership extends EventEmitter<MembershipEvents> {
	readonly link: TrackerLink;
	readonly #tracker: TrackerClient;
	readonly #options: MembershipOptions;
	#syncing: Promise<void> = Promise.resolve();
	/** Whether a whole list was ever sent (it may have been taken though its reply was lost). */
	#listSent = false;
	/** Whether the tracker said its probe of this peer's URL fails. */
	#unreachable = false;
	/** Set while another peer (another key) holds this machID at the tracker. */
	#superseded = false;
	/** How many files the last whole list held. */
	#lastCount = 0;
	#loop: Promise<void> | undefined;
	readonly #stopping = new AbortController();

	constructor(tracker: TrackerClient, options: MembershipOptions) {
		super();
		this.#tracker = tracker;
		this.#options = options;
		this.link = new TrackerLink({heartbeatMs: options.heartbeatMs});
	}

	get status(): TrackerStatus {
		return this.link.status;
	}

	get stopping(): AbortSignal {
		return this.#stopping.signal;
	}

	/**
	 * The first UpdateList, then the heartbeat loop. A tracker that is down is not waited for (the
	 * loop keeps trying); a live peer holding this machID (ID_IN_USE) is thrown.
	 */
	async join(): Promise<void> {
		let failures = 0;
		try {
			await this.sendList();
		} catch (error) {
			if (error instanceof XfsError && error.code === 'ID_IN_USE') {
				throw error;
			}

			failures = 1;
			this.#loopFailed(failures, error);
		}

		this.#loop = this.#keep(failures);
	}

	/** Sends the whole list (waiting for the tracker as `retry` says, if given); serialised so lists never arrive out of order. */
	async sendList(retry?: TrackerRetry): Promise<void> {
		return this.#serially(async () => this.#sendWhole(retry));
	}

	/**
	 * Sends what changed since the last list, as incremental updates of at most a batch each; a
	 * tracker that holds another version (an update lost, a restart) gets the whole list instead.
	 * Before the first list got through, changes simply wait for it. Says what was published.
	 * Everything pending when it is called goes; of what comes in while those requests are in
	 * flight only full batches follow, and the rest waits for the share's next call (which
	 * coalesces it), so a burst is a few large updates rather than one small one per round trip.
	 */
	async publishChanges(): Promise<void> {
		return this.#serially(async () => {
			const list = this.#options.list();
			const total: ChangeCounts = {added: 0, changed: 0, removed: 0};
			let requests = 0;
			// The changes pending now come first in the list's order.
			let owed = list.pendingCount;
			while (this.link.registered && list.hasPending && (owed > 0 || list.pendingCount >= maxChangesPerBatch)) {
				const before = list.pendingCount;
				const batch = list.takeBatch();
				owed -= before - list.pendingCount;
				if (!batch) {
					break;
				}

				try {
					requests++;
					await this.#tracker.updateFiles(this.#options.id, {from: batch.from, to: batch.to, ...batch.changes});
				} catch (error) {
					if (error instanceof TrackerDownError) {
						// Whether it arrived is unknown: the whole list goes once the tracker answers again.
						this.link.listLost();
						throw error;
					}

					if (!(error instanceof XfsError && error.code === 'VERSION_MISMATCH')) {
						throw error;
					}

					// The tracker holds another version: the whole list, with these changes in it, replaces it.
					await this.#sendWhole();
					this.emit('notice', notices.published(total, batch.counts, requests, true));
					return;
				}

				for (const key of ['added', 'changed', 'removed'] as const) {
					total[key] += batch.counts[key];
				}
			}

			if (requests > 0) {
				this.emit('notice', notices.published(total, undefined, requests, false));
			}
		});
	}

	async #sendWhole(retry?: TrackerRetry): Promise<void> {
		const whole = this.#options.list().wholeList();
		this.#listSent = true;
		try {
			const reply = await this.#tracker.updateList(this.#options.id, this.#options.url(), whole, {version: whole.version, retry});
			this.#lastCount = whole.count;
			this.#told(this.link.listAccepted(reply.epoch, Date.now()));
		} catch (error) {
			if (error instanceof TrackerDownError) {
				this.link.listLost();
			}

			throw error;
		}
	}

	/** Lists and updates go one at a time, in order. */
	async #serially(work: () => Promise<void>): Promise<void> {
		// Once leaving, nothing more is sent: a list or an update after the leave would register this peer again.
		const run = this.#syncing.catch(() => {}).then(async () => {
			if (!this.#stopping.signal.aborted) {
				await work();
			}
		});
		this.#syncing = run;
		return run;
	}

	/**
	 * Runs a tracker call that waits for a tracker that is down: the client retries with the tracker
	 * back-off, up to `waitMs` (default --tracker-wait), and before each wait this says so (a retry
	 * line and the 'waiting' status). Stopping the membership ends the call and its wait.
	 */
	async withTracker<T>(what: string, call: (retry: TrackerRetry) => Promise<T>, waitMs = this.#options.trackerWaitMs): Promise<T> {
		const started = Date.now();
		const {signal} = this.#stopping;
		const retry: TrackerRetry = {
			signal,
			delay: attempt => {
				const delay = signal.aborted ? undefined : nextDelayWithin(attempt, Date.now() - started, waitMs, trackerBackoff);
				if (delay === undefined) {
					return 0;
				}

				this.#told(this.link.callFailed(Date.now() + delay));
				this.emit('retry', notices.callDown(delay, what, waitMs));
				return delay;
			},
		};
		try {
			const result = await call(retry);
			this.link.reached(Date.now());
			return result;
		} catch (error) {
			if (!(error instanceof TrackerDownError)) {
				throw error;
			}

			throw new TrackerDownError(notices.gaveUp(this.#tracker.url, Date.now() - started, waitMs), {cause: error});
		}
	}

	/** Stops the heartbeats and leaves the tracker (best effort). */
	async leave(): Promise<void> {
		this.#stopping.abort();
		await this.#loop?.catch(() => {});
		// A list in flight (its challenge still running) may yet be taken: wait for it (briefly), and
		// leave whenever one was sent, so the tracker never keeps a peer that is gone until the TTL.
		const waited = new AbortController();
		await Promise.race([this.#syncing.catch(() => {}), sleep(leaveWaitMs, undefined, {signal: waited.signal}).catch(() => {})]);
		waited.abort();
		if (this.link.registered || this.#listSent) {
			await this.#tracker.leave(this.#options.id).catch(() => {});
		}
	}

	/**
	 * Heartbeats every --heartbeat-ms; a tracker that does not know us (restart, expiry) gets the whole list at once.
	 * While the tracker is down, tries again with the tracker back-off, never waiting longer than one heartbeat.
	 */
	async #keep(failuresSoFar: number): Promise<void> {
		const {signal} = this.#stopping;
		let failures = failuresSoFar;
		while (!signal.aborted) {
			try {
				await sleep(this.link.nextBeatIn(failures), undefined, {signal});
			} catch {
				return;
			}

			try {
				const epochBefore = this.link.epoch;
				const reply = this.link.registered ? await this.#tracker.heartbeat(this.#options.id) : undefined;
				const {action, changed} = this.link.beat(reply, Date.now());
				this.#told(changed);
				this.#noteReachable(reply);
				if (action === 'send-list') {
					await this.sendList();
					if (this.#superseded) {
						this.#superseded = false;
						this.emit('notice', notices.reclaimed(this.#options.id));
					}

					const reason = rejoinReason(epochBefore, this.link.epoch, reply?.known);
					this.emit('retry', notices.rejoined(reason, this.#lastCount));
				}

				failures = 0;
			} catch (error) {
				if (error instanceof XfsError && error.code === 'ID_IN_USE') {
					// Another key holds this machID (it took it while this peer was paused or cut off): said once; the list goes again at each heartbeat.
					this.link.listLost();
					if (!this.#superseded) {
						this.#superseded = true;
						this.emit('notice', notices.superseded(this.#options.id, error.message));
					}

					continue;
				}

				failures++;
				this.#loopFailed(failures, error);
			}
		}
	}

	/** The membership loop's call failed: wait with the tracker back-off, and say so. */
	#loopFailed(failures: number, error: unknown): void {
		if (!(error instanceof TrackerDownError)) {
			this.emit('notice', notices.refused((error as Error).message));
			return;
		}

		const {retryInMs, changed, say} = this.link.loopFailed(failures, Date.now());
		this.#told(changed);
		if (say) {
			this.emit('retry', notices.loopDown(retryInMs, error.message));
		}
	}

	/** The tracker tells, in each heartbeat's reply, whether its probe of this peer's URL was answered: said once per change. */
	#noteReachable(reply: HeartbeatReply | undefined): void {
		if (!reply?.known) {
			return;
		}

		const unreachable = reply.reachable === false;
		if (unreachable !== this.#unreachable) {
			this.#unreachable = unreachable;
			this.emit('notice', unreachable ? notices.unreachable(this.#options.url()) : notices.reachableAgain(this.#options.url()));
		}
	}

	#told(changed: boolean): void {
		if (changed) {
			this.emit('tracker', this.link.status);
		}
	}
}
