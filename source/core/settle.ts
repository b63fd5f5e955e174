/**
 * When a changed file may be published (pure): a file is hashed once its size and mtime have
 * been still for the settle time, and published only if a stat after hashing still matches,
 * so the md5 of a half-written file never goes out. A file that is gone is due at once.
 * Time is passed in.
 */

/** How the share dir's changes are found: a watch (and the rescan), the rescan alone, or neither (updatelist only). */
export type WatchState = {state: 'watching'; rescanMs: number} | {state: 'rescanning'; rescanMs: number} | {state: 'off'};
export const watchOff: WatchState = {state: 'off'};

/** What identifies one version of a file on disk. */
export type FileStamp = {size: number; mtimeMs: number; ino: number};

export function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
	return a === b || (a?.size === b?.size && a?.mtimeMs === b?.mtimeMs && a?.ino === b?.ino && a !== undefined);
}

/** A name that is ready: hash it (with the stamp it had when it settled), or publish that it is gone. */
export type Due = {name: string; stamp: FileStamp} | {name: string; gone: true};

type Watched = {stamp: FileStamp | undefined; changedAt: number};

/**
 * Names waiting to settle, in the order they last changed (a Map keeps insertion order), so the
 * next one due is the first and a burst of 10 000 files costs O(1) per sight, not O(waiting).
 */
export class SettleTracker {
	readonly settleMs: number;
	readonly #watched = new Map<string, Watched>();
	/** How many of the watched names are gone (due at once, wherever they are in the order). */
	#gone = 0;
	/** The latest changedAt recorded: a sight is never recorded as earlier, so the order holds. */
	#latest = Number.NEGATIVE_INFINITY;

	constructor({settleMs}: {settleMs: number}) {
		this.settleMs = settleMs;
	}

	/** How many names wait to settle. */
	get size(): number {
		return this.#watched.size;
	}

	/**
	 * A stat of `name` (undefined: it is not a file any more). The clock restarts whenever what is
	 * seen differs from the last sight. A `now` earlier than one already recorded (a scan's time,
	 * a clock stepped back) counts as that one: a file may settle a little later, never sooner.
	 */
	observe(name: string, stamp: FileStamp | undefined, now: number): void {
		const seen = this.#watched.get(name);
		if (seen && sameStamp(seen.stamp, stamp)) {
			return;
		}

		this.forget(name);
		this.#latest = Math.max(this.#latest, now);
		this.#watched.set(name, {stamp, changedAt: this.#latest});
		if (stamp === undefined) {
			this.#gone++;
		}
	}

	/** Forgets a name (its change was published, or it turned out not to be one). */
	forget(name: string): void {
		const seen = this.#watched.get(name);
		if (seen) {
			this.#watched.delete(name);
			if (seen.stamp === undefined) {
				this.#gone--;
			}
		}
	}

	/** The names ready now, taken out: gone ones at once, others once still for settleMs. */
	takeDue(now: number): Due[] {
		const due: Due[] = [];
		for (const [name, {stamp, changedAt}] of this.#watched) {
			if (stamp === undefined) {
				due.push({name, gone: true});
				this.forget(name);
			} else if (now - changedAt >= this.settleMs) {
				due.push({name, stamp});
				this.forget(name);
			} else if (this.#gone === 0) {
				// The rest changed later still.
				break;
			}
		}

		return due;
	}

	/** When the next name becomes due (ms from now), or undefined when none waits. */
	nextDueIn(now: number): number | undefined {
		if (this.#gone > 0) {
			return 0;
		}

		const first = this.#watched.values().next();
		return first.done ? undefined : Math.max(0, first.value.changedAt + this.settleMs - now);
	}
}
