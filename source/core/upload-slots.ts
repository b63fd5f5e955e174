/**
 * A holder's upload slots (--max-uploads), shared fairly (pure; time is passed in): beyond the cap a
 * request is refused (503 BUSY), and each slot that frees while requesters wait is held for the one
 * that has waited longest among those holding the fewest slots, for a short while; meanwhile the
 * others (the downloader whose part just ended, asking for its next one at once) are refused. So a
 * fast downloader that re-asks the moment a part ends cannot keep the slots from the rest.
 */

/** A slot freed for a waiting requester is kept for it this long: its Retry-After (1 s) and a margin. */
export const defaultHoldMs = 1500;
/** A refused requester that has not asked again for this long has given up. */
const forgetWaitingMs = 5000;

export class UploadSlots {
	readonly cap: number;
	readonly #holdMs: number;
	#inUse = 0;
	readonly #held = new Map<string, number>();
	/** Requesters refused and not served since: when they were first refused. */
	readonly #waiting = new Map<string, {since: number; last: number}>();
	/** Slots kept for a waiting requester, until when. */
	readonly #reserved = new Map<string, number>();

	constructor(cap: number, {holdMs = defaultHoldMs}: {holdMs?: number} = {}) {
		this.cap = cap;
		this.#holdMs = holdMs;
	}

	get inUse(): number {
		return this.#inUse;
	}

	/** Takes a slot for `requester`; false means refuse (BUSY). */
	take(requester: string, now: number): boolean {
		this.#expire(now);
		const free = this.cap - this.#inUse;
		const mine = this.#reserved.has(requester);
		const reservedForOthers = this.#reserved.size - (mine ? 1 : 0);
		if (free > reservedForOthers) {
			this.#reserved.delete(requester);
			this.#waiting.delete(requester);
			this.#inUse++;
			this.#held.set(requester, (this.#held.get(requester) ?? 0) + 1);
			return true;
		}

		const waiting = this.#waiting.get(requester);
		this.#waiting.set(requester, {since: waiting?.since ?? now, last: now});
		return false;
	}

	/** A slot of `requester` ends; it is kept for the next waiting requester, if any. */
	release(requester: string, now: number): void {
		this.#inUse = Math.max(0, this.#inUse - 1);
		const held = (this.#held.get(requester) ?? 1) - 1;
		if (held > 0) {
			this.#held.set(requester, held);
		} else {
			this.#held.delete(requester);
		}

		this.#expire(now);
		let next: {id: string; held: number; since: number} | undefined;
		for (const [id, {since}] of this.#waiting) {
			const holds = this.#held.get(id) ?? 0;
			if (!this.#reserved.has(id) && (!next || holds < next.held || (holds === next.held && since < next.since))) {
				next = {id, held: holds, since};
			}
		}

		if (next) {
			this.#waiting.delete(next.id);
			this.#reserved.set(next.id, now + this.#holdMs);
		}
	}

	#expire(now: number): void {
		for (const [id, until] of this.#reserved) {
			if (until <= now) {
				this.#reserved.delete(id);
			}
		}

		for (const [id, {last}] of this.#waiting) {
			if (now - last > forgetWaitingMs) {
				this.#waiting.delete(id);
			}
		}
	}
}
