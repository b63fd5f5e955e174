/**
 * When the mount's listing is asked for again (pure, time passed in): a listing younger than the
 * TTL is served as it is; an older one is served too while a refresh runs in the background; only
 * with no listing at all does an access wait. A change this peer learns of makes the next refresh
 * due at once. A failed refresh (the tracker down) leaves the last listing serving, and is tried
 * again one TTL later, not on every access.
 */

export type ListingAccess = 'serve' | 'serve-and-refresh' | 'wait-for-refresh';

export class ListingFreshness {
	readonly #ttlMs: number;
	#fetchedAt: number | undefined;
	#attemptedAt: number | undefined;
	#refreshing = false;
	#due = false;
	#hasListing = false;

	constructor({ttlMs}: {ttlMs: number}) {
		this.#ttlMs = ttlMs;
	}

	get refreshing(): boolean {
		return this.#refreshing;
	}

	/** Age of the listing served; undefined before the first one. */
	ageMs(now: number): number | undefined {
		return this.#fetchedAt === undefined ? undefined : now - this.#fetchedAt;
	}

	/** What an access at `now` does. 'serve-and-refresh' and 'wait-for-refresh' expect the caller to start a refresh unless one runs. */
	access(now: number): ListingAccess {
		if (!this.#hasListing) {
			return 'wait-for-refresh';
		}

		return this.refreshDue(now) ? 'serve-and-refresh' : 'serve';
	}

	/** Whether a refresh should start now: none running, and the listing stale (or a change learned) and not just attempted. */
	refreshDue(now: number): boolean {
		if (this.#refreshing) {
			return false;
		}

		if (this.#due) {
			return true;
		}

		const since = Math.max(this.#fetchedAt ?? Number.NEGATIVE_INFINITY, this.#attemptedAt ?? Number.NEGATIVE_INFINITY);
		return now - since >= this.#ttlMs;
	}

	/** A change this peer learned of: the next refresh is due at once. Returns whether to start it now. */
	changed(): boolean {
		this.#due = true;
		return !this.#refreshing;
	}

	started(now: number): void {
		this.#refreshing = true;
		this.#attemptedAt = now;
		this.#due = false;
	}

	succeeded(now: number): void {
		this.#refreshing = false;
		this.#fetchedAt = now;
		this.#hasListing = true;
	}

	/** The refresh failed; `fallback` says a listing (local files only, say) serves anyway. */
	failed(now: number, {fallback = false}: {fallback?: boolean} = {}): void {
		this.#refreshing = false;
		this.#attemptedAt = now;
		this.#hasListing ||= fallback;
	}
}
