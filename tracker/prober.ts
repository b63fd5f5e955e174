/**
 * The tracker's probes of a peer's URL (GET /identity with a fresh challenge, answered with the
 * peer's key): the only requests the tracker makes. One probe per (id, key, URL) at a time, and
 * one probed within `minIntervalMs` (or less, when the caller asks for a younger answer) gets
 * that answer again, however many reports or registrations name it. A URL probed for one
 * claimant is not probed for another within `gateMs` (that claim fails instead):
 * a flood of claims naming someone's URL costs that URL one request per interval.
 */
export type ProbeResult = {alive: boolean; startedAt: number};

/** The last probe of each URL, shared by the probers of one tracker. */
export class UrlGate {
	readonly #last = new Map<string, {claimant: string; at: number}>();

	/** Whether `claimant` may probe `url` at `now`; records it when so. */
	pass(url: string, claimant: string, now: number, floorMs: number): boolean {
		const last = this.#last.get(url);
		if (last && last.claimant !== claimant && now - last.at < floorMs) {
			return false;
		}

		this.#last.delete(url);
		this.#last.set(url, {claimant, at: now});
		if (this.#last.size > 10_000) {
			this.#last.delete(this.#last.keys().next().value!);
		}

		return true;
	}
}

export type ProbeFunction = (id: string, url: string, key: string | undefined) => Promise<boolean>;

export class Prober {
	readonly #probe: ProbeFunction;
	readonly #minIntervalMs: number;
	readonly #gateMs: number;
	readonly #gate: UrlGate;
	readonly #now: () => number;
	readonly #inFlight = new Map<string, Promise<ProbeResult>>();
	readonly #recent = new Map<string, ProbeResult>();

	constructor(probe: ProbeFunction, {minIntervalMs = 5000, gateMs = Math.min(2000, minIntervalMs), gate = new UrlGate(), now = Date.now}: {minIntervalMs?: number; gateMs?: number; gate?: UrlGate; now?: () => number} = {}) {
		this.#probe = probe;
		this.#minIntervalMs = minIntervalMs;
		this.#gateMs = gateMs;
		this.#gate = gate;
		this.#now = now;
	}

	/**
	 * Whether `url` answers as peer `id` with `key`, and when the probe that tells began. An answer
	 * younger than `maxAgeMs` (default: the minimum interval) is given again without a request.
	 */
	async check(id: string, url: string, key: string | undefined, {maxAgeMs = this.#minIntervalMs}: {maxAgeMs?: number} = {}): Promise<ProbeResult> {
		const claimant = `${id} ${key ?? ''}`;
		const pair = `${claimant} ${url}`;
		const recent = this.#recent.get(pair);
		if (recent && this.#now() - recent.startedAt < Math.min(maxAgeMs, this.#minIntervalMs)) {
			return recent;
		}

		let running = this.#inFlight.get(pair);
		if (!running) {
			const startedAt = this.#now();
			if (!this.#gate.pass(url, claimant, startedAt, this.#gateMs)) {
				return {alive: false, startedAt};
			}

			running = this.#probe(id, url, key).catch(() => false).then(alive => {
				const result = {alive, startedAt};
				this.#inFlight.delete(pair);
				this.#recent.set(pair, result);
				if (this.#recent.size > 10_000) {
					this.#recent.delete(this.#recent.keys().next().value!);
				}

				return result;
			});
			this.#inFlight.set(pair, running);
		}

		return running;
	}
}
