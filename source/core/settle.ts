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

export class SettleTracker {
	readonly settleMs: number;
	readonly #watched = new Map<string, Watched>();

	constructor({settleMs}: {settleMs: number}) {
		this.settleMs = settleMs;
	}

	/** How many names wait to settle. */
	get size(): number {
		return this.#watched.size;
	}

	/** A stat of `name` (undefined: it is not a file any more). The clock restarts whenever what is seen differs from the last sight. */
	observe(name: string, stamp: FileStamp | undefined, now: number): void {
		const seen = this.#watched.get(name);
		if (seen && sameStamp(seen.stamp, stamp)) {
			return;
		}

		this.#watched.set(name, {stamp, changedAt: now});
	}

	/** Forgets a name (its change was published, or it turned out not to be one). */
	forget(name: string): void {
		this.#watched.delete(name);
	}

	/** The names ready now, taken out: gone ones at once, others once still for settleMs. */
	takeDue(now: number): Due[] {
		const due: Due[] = [];
		for (const [name, {stamp, changedAt}] of this.#watched) {
			if (stamp === undefined) {
				due.push({name, gone: true});
				this.#watched.delete(name);
			} else if (now - changedAt >= this.settleMs) {
				due.push({name, stamp});
				this.#watched.delete(name);
			}
		}

		return due;
	}

	/** When the next name becomes due (ms from now), or undefined when none waits. */
	nextDueIn(now: number): number | undefined {
		let soonest: number | undefined;
		for (const {stamp, changedAt} of this.#watched.values()) {
			const wait = stamp === undefined ? 0 : Math.max(0, changedAt + this.settleMs - now);
			soonest = soonest === undefined ? wait : Math.min(soonest, wait);
		}

		return soonest;
	}
}
