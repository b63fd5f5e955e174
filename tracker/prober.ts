/**
 * The tracker's probes of a peer's URL (GET /load, answered as that peer): the only requests the
 * tracker makes. One probe per URL at a time, and a URL probed within `minIntervalMs` (or less,
 * when the caller asks for a younger answer) gets that answer again, however many reports or
 * registrations name it: a flood costs one request per interval.
 */
export type ProbeResult = {alive: boolean; startedAt: number};

export class Prober {
	readonly #probe: (id: string, url: string) => Promise<boolean>;
	readonly #minIntervalMs: number;
	readonly #now: () => number;
	readonly #inFlight = new Map<string, Promise<ProbeResult>>();
	readonly #recent = new Map<string, ProbeResult>();

	constructor(probe: (id: string, url: string) => Promise<boolean>, {minIntervalMs = 5000, now = Date.now}: {minIntervalMs?: number; now?: () => number} = {}) {
		this.#probe = probe;
		this.#minIntervalMs = minIntervalMs;
		this.#now = now;
	}

	/**
	 * Whether `url` answers as peer `id`, and when the probe that tells began. An answer younger
	 * than `maxAgeMs` (default: the minimum interval) is given again without a request.
	 */
	async check(id: string, url: string, {maxAgeMs = this.#minIntervalMs}: {maxAgeMs?: number} = {}): Promise<ProbeResult> {
		const key = `${id} ${url}`;
		const recent = this.#recent.get(key);
		if (recent && this.#now() - recent.startedAt < Math.min(maxAgeMs, this.#minIntervalMs)) {
			return recent;
		}

		let running = this.#inFlight.get(key);
		if (!running) {
			const startedAt = this.#now();
			running = this.#probe(id, url).catch(() => false).then(alive => {
				const result = {alive, startedAt};
				this.#inFlight.delete(key);
				this.#recent.set(key, result);
				if (this.#recent.size > 10_000) {
					this.#recent.delete(this.#recent.keys().next().value!);
				}

				return result;
			});
			this.#inFlight.set(key, running);
		}

		return running;
	}
}
