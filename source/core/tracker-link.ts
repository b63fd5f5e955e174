/**
 * How a peer stands with its tracker (pure): registered or not, the tracker's epoch, whether
 * calls are failing, and when it came back. Each fact the membership loop learns goes in; the
 * decisions (send the whole list, how long to wait, whether a NOT_FOUND stands) come out.
 * Time is passed in, so it is tested like TrackerState.
 */
import type {HeartbeatReply} from '../common/wire.js';
import {heartbeatDelay, provisionalNotFoundWait} from './retry-policy.js';

export type TrackerStatus =
	| {state: 'connecting'}
	| {state: 'connected'; epoch: string}
	| {state: 'waiting'; retryAt: number; reason: string}
	| {state: 'restarted'; epoch: string};

/** Why the whole list goes to the tracker again after a heartbeat. */
export type RejoinReason = 'restarted' | 'dropped' | 'back';

/** What a heartbeat's answer calls for: nothing, or the whole list. */
export type BeatDecision = 'none' | 'send-list';

/** Why the whole list went again, judged once it was accepted: the epochs before and after, and the heartbeat's `known`. */
export function rejoinReason(epochBefore: string | undefined, epochAfter: string | undefined, known: boolean | undefined): RejoinReason {
	if (epochBefore !== undefined && epochAfter !== epochBefore) {
		return 'restarted';
	}

	return known === false ? 'dropped' : 'back';
}

export class TrackerLink {
	readonly heartbeatMs: number;
	#status: TrackerStatus = {state: 'connecting'};
	#registered = false;
	#epoch: string | undefined;
	/** Set while tracker calls fail; cleared by the first call that gets through. */
	#lost = false;
	/** When the tracker came back (a new epoch, or answering after an outage); its NOT_FOUND answers are provisional for one heartbeat. */
	#back: {at: number; restarted: boolean} | undefined;

	constructor({heartbeatMs}: {heartbeatMs: number}) {
		this.heartbeatMs = heartbeatMs;
	}

	get status(): TrackerStatus {
		return this.#status;
	}

	/** True once an UpdateList got through and no failure since says the tracker may have lost it. */
	get registered(): boolean {
		return this.#registered;
	}

	get epoch(): string | undefined {
		return this.#epoch;
	}

	/**
	 * An UpdateList was accepted under `epoch`. A new epoch means the tracker restarted.
	 * Returns whether the status changed (the caller tells its listeners).
	 */
	listAccepted(epoch: string, now: number): boolean {
		this.#registered = true;
		const restarted = this.#epoch !== undefined && this.#epoch !== epoch;
		this.#epoch = epoch;
		if (restarted) {
			this.#back = {at: now, restarted: true};
		}

		return this.#setStatus(restarted ? {state: 'restarted', epoch} : {state: 'connected', epoch});
	}

	/** A tracker call got through after an outage: until the next heartbeat tells whether it restarted, assume it did. */
	reached(now: number): void {
		if (this.#lost) {
			this.#lost = false;
			this.#back = {at: now, restarted: false};
		}
	}

	/** A call failed because the tracker is down; a command waits `retryInMs` before asking again. Returns whether the status changed. */
	callFailed(retryAt: number): boolean {
		this.#lost = true;
		return this.#setStatus({state: 'waiting', retryAt, reason: 'tracker down'});
	}

	/** An UpdateList failed because the tracker is down: the list must go again once it answers. */
	listLost(): void {
		this.#registered = false;
	}

	/**
	 * The membership loop's call failed (the tracker is down) for the `failures`-th time in a row.
	 * Returns the wait before the next try, whether the status changed, and whether to say so
	 * (once per step of the back-off, not once per retry once it is capped).
	 */
	loopFailed(failures: number, now: number): {retryInMs: number; changed: boolean; say: boolean} {
		this.#registered = false;
		this.#lost = true;
		const retryInMs = heartbeatDelay(failures, this.heartbeatMs);
		const changed = this.#setStatus({state: 'waiting', retryAt: now + retryInMs, reason: 'tracker down'});
		const say = failures === 1 || retryInMs !== heartbeatDelay(failures - 1, this.heartbeatMs);
		return {retryInMs, changed, say};
	}

	/** The wait before the next heartbeat after `failures` failed calls in a row. */
	nextBeatIn(failures: number): number {
		return heartbeatDelay(failures, this.heartbeatMs);
	}

	/**
	 * A heartbeat's answer (undefined when none was sent because the list must go first).
	 * `known` under the same epoch: all is well. Anything else: send the whole list.
	 */
	beat(reply: HeartbeatReply | undefined, now: number): {action: BeatDecision; changed: boolean} {
		this.reached(now);
		if (reply?.known && reply.epoch === this.#epoch) {
			if (this.#back?.restarted === false) {
				// Same epoch: the tracker did not restart, so its answers stand as they are.
				this.#back = undefined;
			}

			return {action: 'none', changed: this.#setStatus({state: 'connected', epoch: reply.epoch})};
		}

		return {action: 'send-list', changed: false};
	}

	/** How long to wait before asking again about a NOT_FOUND, or undefined when it stands. */
	notFoundWait(now: number): number | undefined {
		return provisionalNotFoundWait(now, this.#back?.at, this.heartbeatMs);
	}

	/** When the tracker came back, if it did within the last heartbeat or so. */
	get backAt(): number | undefined {
		return this.#back?.at;
	}

	/** The notices that go with a change (down, back) come from the membership loop and the waiting calls. */
	#setStatus(status: TrackerStatus): boolean {
		const same = status.state === this.#status.state && status.state !== 'waiting';
		this.#status = status;
		return !same;
	}
}
