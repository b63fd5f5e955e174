/**
 * Swarm: tells the tracker which files this peer is downloading by parts and how many parts it
 * has, in batches: at most one request per batch interval however many parts arrive meanwhile,
 * and again now and then while any download is in progress (a restarted tracker learns it so).
 */
import type {TrackerClient} from '../clients/tracker-client.js';
import type {PartialHoldings} from '../share/partial-holdings.js';

/** Least time between two announcements: parts verified meanwhile go together. */
export const defaultBatchMs = 500;

export class PartialAnnouncer {
	readonly #tracker: TrackerClient;
	readonly #id: string;
	readonly #holdings: PartialHoldings;
	readonly #batchMs: number;
	readonly #registered: () => boolean;
	readonly #refresh: NodeJS.Timeout;
	#timer: NodeJS.Timeout | undefined;
	#sending = false;
	#again = false;
	#lastSentAt = 0;
	/** What the tracker was last told is non-empty (so an empty list is owed once the downloads end). */
	#told = false;
	#stopped = false;

	constructor(tracker: TrackerClient, {id, holdings, batchMs = defaultBatchMs, refreshMs, registered}: {id: string; holdings: PartialHoldings; batchMs?: number; refreshMs: number; registered: () => boolean}) {
		this.#tracker = tracker;
		this.#id = id;
		this.#holdings = holdings;
		this.#batchMs = batchMs;
		this.#registered = registered;
		holdings.onChange(() => {
			this.#schedule();
		});
		this.#refresh = setInterval(() => {
			if (this.#told || this.#holdings.entries().length > 0) {
				this.#schedule();
			}
		}, refreshMs);
		this.#refresh.unref();
	}

	stop(): void {
		this.#stopped = true;
		clearInterval(this.#refresh);
		clearTimeout(this.#timer);
	}

	#schedule(): void {
		if (this.#stopped || this.#timer) {
			return;
		}

		if (this.#sending) {
			this.#again = true;
			return;
		}

		const delay = Math.max(0, this.#lastSentAt + this.#batchMs - Date.now());
		this.#timer = setTimeout(() => {
			this.#timer = undefined;
			void this.#send();
		}, delay);
	}

	async #send(): Promise<void> {
		if (!this.#registered()) {
			// The whole list has not gone yet (or the tracker forgot it): the refresh tries again.
			return;
		}

		const files = this.#holdings.entries();
		if (files.length === 0 && !this.#told) {
			return;
		}

		this.#sending = true;
		this.#lastSentAt = Date.now();
		try {
			await this.#tracker.setPartial(this.#id, files);
			this.#told = files.length > 0;
		} catch {
			// The tracker is down or does not know this peer yet: the next change or refresh sends it.
		} finally {
			this.#sending = false;
			if (this.#again) {
				this.#again = false;
				this.#schedule();
			}
		}
	}
}
