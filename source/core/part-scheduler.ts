/**
 * The part scheduler (pure): hands parts to holders by measured speed, keeps a slow holder
 * from taking a part the others would finish sooner, and races or splits the last parts.
 * In a swarm, a source may hold only some parts (its part map): it is given only those, the
 * rarest among the sources first, ties broken at random.
 */

/** A raced part is fetched by at most this many holders at once. */
export const defaultMaxRacers = 2;

/** Estimated time until a list of parts is fetched, each handed to whichever holder would finish it first. */
export function drainTime(workers: ReadonlyArray<{freeAtMs: number; fetchMs: (bytes: number) => number}>, parts: readonly number[]): number {
	if (workers.length === 0) {
		return parts.length === 0 ? 0 : Number.POSITIVE_INFINITY;
	}

	const freeAt = workers.map(worker => worker.freeAtMs);
	let finish = 0;
	for (const bytes of parts) {
		let best = 0;
		let bestEnd = Number.POSITIVE_INFINITY;
		for (const [index, worker] of workers.entries()) {
			const end = freeAt[index]! + worker.fetchMs(bytes);
			if (end < bestEnd) {
				bestEnd = end;
				best = index;
			}
		}

		freeAt[best] = bestEnd;
		finish = Math.max(finish, bestEnd);
	}

	return finish;
}

/**
 * A part for a holder to fetch; `race` when another holder is already fetching it. With `from`,
 * only the part's bytes from that offset on: the holder already fetching the part (`with`) supplies
 * the bytes before it, and the two halves are checked together.
 */
export type Assignment = {part: number; race: boolean; from?: number; with?: string};

export type SourceState = 'fetching' | 'racing' | 'idle' | 'done' | 'failed' | 'corrupt';

/** `have`/`of`: a partial holder's part map (swarm); absent for a holder of the whole file. */
export type SourceSnapshot = {id: string; state: SourceState; parts: number; received: number; have?: number; of?: number};

type Fetch = {part: number; race: boolean; from: number; with?: string; startedAt: number; firstByteAt?: number; lastByteAt?: number; received: number};

type HolderState = {
	id: string;
	assignment?: Fetch;
	retired?: 'failed' | 'corrupt';
	/** Smoothed time to first byte of a part request (covers the holder's latency). */
	ttfbMs?: number;
	/** Smoothed transfer rate once bytes flow. */
	bytesPerMs?: number;
	parts: number;
	received: number;
	/** The parts this source holds; undefined: all of them (a holder of the whole file). */
	has?: ReadonlySet<number>;
	/** Swarm: the parts a holder of the whole file suggested asking it for next (super-seeding). */
	suggested?: readonly number[];
};

type PartState = {bytes: number; done: boolean; racers: Set<string>; badFrom: Set<string>; noSplit: boolean};

/** Weight of the newest measurement in the smoothed ttfb and rate. */
const smoothing = 0.5;
/** A part must have been flowing this long before its live rate replaces the smoothed one. */
const liveRateAfterMs = 200;
/** The smallest tail worth splitting off a part in flight. */
export const minSplitBytes = 64 * 1024;
/** A holder silent this long is not trusted to deliver the head of a split part; its part is raced whole instead. */
const quietAfterMs = 500;

/**
 * Hands parts to holders as they ask (so faster holders take more), keeps a slow holder from
 * taking a part that the others would finish sooner without it, and races the last parts.
 * Time is passed in (`now`, ms), so it is deterministic under test.
 */
export class PartScheduler {
	readonly #parts: PartState[];
	readonly #holders = new Map<string, HolderState>();
	readonly #maxRacers: number;
	/** Rarest-first with this tie-break (swarm); without it, the lowest pending part first. */
	readonly #random: (() => number) | undefined;

	constructor(partBytes: readonly number[], verified: Iterable<number> = [], {maxRacers = defaultMaxRacers, random}: {maxRacers?: number; random?: () => number} = {}) {
		this.#parts = partBytes.map(bytes => ({bytes, done: false, racers: new Set(), badFrom: new Set(), noSplit: false}));
		for (const index of verified) {
			this.#parts[index]!.done = true;
		}

		this.#maxRacers = maxRacers;
		this.#random = random;
	}

	get finished(): boolean {
		return this.#parts.every(part => part.done);
	}

	get doneParts(): number[] {
		return this.#parts.flatMap((part, index) => (part.done ? [index] : []));
	}

	/** Bytes verified so far plus, for each part in flight, the most any racer has received. */
	get receivedBytes(): number {
		let total = 0;
		for (const part of this.#parts) {
			if (part.done) {
				total += part.bytes;
			} else {
				let most = 0;
				let tails = 0;
				for (const id of part.racers) {
					const fetch = this.#holders.get(id)?.assignment;
					if (fetch?.with === undefined) {
						most = Math.max(most, fetch?.received ?? 0);
					} else {
						tails += fetch.received;
					}
				}

				total += Math.min(part.bytes, most + tails);
			}
		}

		return total;
	}

	/** A source joins with its part map (none: it holds every part); one that left (retired) joins again, keeping its credit. */
	join(id: string, has?: ReadonlySet<number>): void {
		const holder = this.#holders.get(id);
		if (holder) {
			holder.retired = undefined;
			holder.has = has;
		} else {
			this.#holders.set(id, {id, parts: 0, received: 0, has});
		}
	}

	/** A source's part map changed (undefined: it holds every part now). */
	setHas(id: string, has: ReadonlySet<number> | undefined): void {
		this.#holder(id).has = has;
	}

	/** Swarm: the parts a holder of the whole file suggests it be asked for next (the ones it has sent least). */
	suggest(id: string, parts: readonly number[]): void {
		this.#holder(id).suggested = parts;
	}

	/** Whether this source holds a part not yet verified here that it could be given now or later. */
	hasUseful(id: string): boolean {
		const holder = this.#holder(id);
		return !holder.retired && this.#parts.some((part, index) => !part.done && this.#holds(holder, index) && !this.#excluded(id, part));
	}

	/**
	 * The part this idle holder should fetch now, or undefined. When no holder is fetching,
	 * a pending part is always taken (so the download cannot stall on estimates); ask the
	 * fastest holders first.
	 */
	next(id: string, now: number): Assignment | undefined {
		const holder = this.#holder(id);
		if (holder.assignment) {
			throw new Error(`holder ${id} already fetches part ${holder.assignment.part}`);
		}

		if (holder.retired || this.finished) {
			return undefined;
		}

		let pending = this.#ordered(this.#parts.flatMap((part, index) => (!part.done && part.racers.size === 0 && this.#holds(holder, index) && !this.#excluded(id, part) ? [index] : [])));
		if (this.#random && holder.has === undefined && pending.length > 0 && this.busy) {
			// Swarm: a holder of the whole file (a seed) is asked for parts no partial source has; the
			// others come from the partial sources, so the seed's upload goes to parts the crowd lacks.
			const partial = this.#live().filter(other => other.has !== undefined);
			pending = pending.filter(index => !partial.some(other => this.#holds(other, index)));
		}

		if (this.#random && holder.suggested && pending.length > 1) {
			// Super-seeding: of those, the ones the seed suggested (sent least to the crowd) first, in its order.
			const rank = new Map(holder.suggested.map((index, order) => [index, order]));
			const first = pending.filter(index => rank.has(index)).sort((a, b) => rank.get(a)! - rank.get(b)!);
			pending = [...first, ...pending.filter(index => !rank.has(index))];
		}

		if (pending.length > 0) {
			// Swarm: every source that holds a part takes it (at most --max-sources partial sources fetch at
			// once, so an idle one is not one that would take the part instead); a slow copy is raced at the end.
			return !this.busy || this.#random || this.#worthTaking(holder, pending, now) ? this.#assign(holder, pending[0]!, false, now) : undefined;
		}

		// Swarm: endgame only at the very end, once every part left is in flight (or out of every source's
		// reach); before that an idle source waits rather than duplicate another's work (a seed's upload most of all).
		if (this.#random && !this.#endgame()) {
			return undefined;
		}

		const race = this.#raceCandidate(holder, now);
		if (!race) {
			return undefined;
		}

		const assignment = this.#assign(holder, race.index, true, now, race.from, race.with);
		return race.from === undefined ? assignment : {...assignment, from: race.from, with: race.with};
	}

	firstByte(id: string, now: number): void {
		const assignment = this.#holders.get(id)?.assignment;
		if (assignment && assignment.firstByteAt === undefined) {
			assignment.firstByteAt = now;
		}
	}

	progress(id: string, received: number, now: number): void {
		const holder = this.#holders.get(id);
		if (holder?.assignment) {
			this.firstByte(id, now);
			holder.received += received - holder.assignment.received;
			holder.assignment.received = received;
			holder.assignment.lastByteAt = now;
		}
	}

	/**
	 * A holder delivered its part and it checked out. `won` is false when a racer was first;
	 * `cancel` lists the racers still fetching this part (their work is no longer needed).
	 */
	complete(id: string, now: number): {won: boolean; part: number; cancel: string[]} {
		const holder = this.#holder(id);
		const {assignment} = holder;
		if (!assignment) {
			throw new Error(`holder ${id} has no part to complete`);
		}

		const part = this.#parts[assignment.part]!;
		this.#measure(holder, assignment, part.bytes - assignment.from, now);
		holder.assignment = undefined;
		part.racers.delete(id);
		if (part.done) {
			return {won: false, part: assignment.part, cancel: []};
		}

		part.done = true;
		holder.parts++;
		const cancel = [...part.racers];
		for (const racer of cancel) {
			part.racers.delete(racer);
			this.#holders.get(racer)!.assignment = undefined;
		}

		return {won: true, part: assignment.part, cancel};
	}

	/**
	 * A holder stops fetching its part without fault. Returns the holders whose fetch of the
	 * part's tail depended on this one's bytes: they are released too and should be cancelled.
	 */
	release(id: string): string[] {
		const holder = this.#holders.get(id);
		const assignment = holder?.assignment;
		if (!holder || !assignment) {
			return [];
		}

		const part = this.#parts[assignment.part]!;
		part.racers.delete(id);
		holder.assignment = undefined;
		const dependents = [...part.racers].filter(racer => this.#holders.get(racer)?.assignment?.with === id);
		for (const dependent of dependents) {
			part.racers.delete(dependent);
			this.#holders.get(dependent)!.assignment = undefined;
		}

		return dependents;
	}

	/** The two halves of a split part did not check out together: no one is blamed, the part is no longer split. */
	tailRejected(id: string): void {
		const assignment = this.#holders.get(id)?.assignment;
		if (assignment) {
			this.#parts[assignment.part]!.noSplit = true;
			this.release(id);
		}
	}

	/**
	 * The part a holder sent did not match its md5: someone else fetches it; the holder may go on
	 * with others. Returns the holders to cancel, as release does.
	 */
	corrupt(id: string): string[] {
		const {assignment} = this.#holder(id);
		if (!assignment) {
			return [];
		}

		this.#parts[assignment.part]!.badFrom.add(id);
		return this.release(id);
	}

	/** The holder is out of this download (down, dropped, stalled, or corrupt too often); its part goes back. */
	retire(id: string, why: 'failed' | 'corrupt'): string[] {
		const holder = this.#holder(id);
		const cancel = this.release(id);
		holder.retired = why;
		return cancel;
	}

	/** Live holders with nothing to fetch, the ones expected to be fastest first (unmeasured ones before them). */
	idleHolders(): string[] {
		const reference = this.#parts[0]?.bytes ?? 0;
		const speed = (id: string) => this.estimateMs(id, reference) ?? -1;
		return this.#live().filter(holder => !holder.assignment).map(holder => holder.id).sort((a, b) => speed(a) - speed(b));
	}

	/** Whether any holder is still fetching: only that can change what an idle holder should do. */
	get busy(): boolean {
		return [...this.#holders.values()].some(holder => holder.assignment !== undefined);
	}

	snapshot(): SourceSnapshot[] {
		return [...this.#holders.values()].map(holder => ({
			id: holder.id,
			state: holder.retired ?? (holder.assignment ? (holder.assignment.race ? 'racing' : 'fetching') : (this.finished ? 'done' : 'idle')),
			parts: holder.parts,
			received: holder.received,
			...(holder.has ? {have: holder.has.size, of: this.#parts.length} : {}),
		}));
	}

	/** Estimated ms for a holder to fetch `bytes` from a new request; undefined before any measurement. */
	estimateMs(id: string, bytes: number): number | undefined {
		const holder = this.#holders.get(id);
		if (holder?.bytesPerMs === undefined) {
			return undefined;
		}

		return (holder.ttfbMs ?? 0) + (bytes / holder.bytesPerMs);
	}

	/** Estimated ms until a holder finishes its current part. */
	remainingMs(id: string, now: number): number | undefined {
		const holder = this.#holders.get(id);
		const assignment = holder?.assignment;
		if (!holder || !assignment) {
			return 0;
		}

		const bytes = this.#parts[assignment.part]!.bytes - assignment.from;
		if (assignment.firstByteAt === undefined) {
			if (holder.bytesPerMs === undefined) {
				return undefined;
			}

			return Math.max(0, (holder.ttfbMs ?? 0) - (now - assignment.startedAt)) + (bytes / holder.bytesPerMs);
		}

		const flowing = now - assignment.firstByteAt;
		const rate = flowing >= liveRateAfterMs ? assignment.received / flowing : holder.bytesPerMs;
		if (rate === undefined) {
			return undefined;
		}

		return rate <= 0 ? Number.POSITIVE_INFINITY : (bytes - assignment.received) / rate;
	}

	/** Every part not done is in flight, or no live source that may fetch it holds it. */
	#endgame(): boolean {
		const live = this.#live();
		return this.#parts.every((part, index) => part.done || part.racers.size > 0 || !live.some(holder => this.#holds(holder, index) && !this.#excluded(holder.id, part)));
	}

	#holds(holder: HolderState, index: number): boolean {
		return holder.has === undefined || holder.has.has(index);
	}

	/**
	 * Swarm order: the parts the fewest live sources hold first (rarest first, Legout et al. 2006),
	 * ties in random order, so a crowd starting together asks a lone seed for different parts.
	 */
	#ordered(pending: number[]): number[] {
		const random = this.#random;
		if (!random || pending.length < 2) {
			return pending;
		}

		const live = this.#live();
		const rarity = new Map(pending.map(index => [index, live.filter(holder => this.#holds(holder, index)).length]));
		const key = new Map(pending.map(index => [index, random()]));
		return pending.sort((a, b) => rarity.get(a)! - rarity.get(b)! || key.get(a)! - key.get(b)!);
	}

	#holder(id: string): HolderState {
		const holder = this.#holders.get(id);
		if (!holder) {
			throw new Error(`unknown holder ${id}`);
		}

		return holder;
	}

	#assign(holder: HolderState, index: number, race: boolean, now: number, from = 0, dependsOn?: string): Assignment {
		holder.assignment = {part: index, race, from, with: dependsOn, startedAt: now, received: 0};
		this.#parts[index]!.racers.add(holder.id);
		return {part: index, race};
	}

	/** A holder that sent a bad copy of a part does not get it again while another live holder could fetch it. */
	#excluded(id: string, part: PartState): boolean {
		if (!part.badFrom.has(id)) {
			return false;
		}

		return [...this.#holders.values()].some(other => !other.retired && !part.badFrom.has(other.id));
	}

	#live(): HolderState[] {
		return [...this.#holders.values()].filter(holder => !holder.retired);
	}

	/** Takes a pending part unless the other holders would finish every pending part sooner without this one. */
	#worthTaking(holder: HolderState, pending: readonly number[], now: number): boolean {
		const own = this.estimateMs(holder.id, this.#parts[pending[0]!]!.bytes);
		if (own === undefined) {
			return true;
		}

		const others: Array<{freeAtMs: number; fetchMs: (bytes: number) => number}> = [];
		for (const other of this.#live()) {
			// A source without this part cannot take it instead (swarm).
			if (other.id === holder.id || other.bytesPerMs === undefined || !this.#holds(other, pending[0]!)) {
				continue;
			}

			const remaining = this.remainingMs(other.id, now);
			if (remaining === undefined || !Number.isFinite(remaining)) {
				continue;
			}

			others.push({freeAtMs: remaining, fetchMs: bytes => this.estimateMs(other.id, bytes)!});
		}

		if (others.length === 0) {
			return true;
		}

		const sizes = pending.map(index => this.#parts[index]!.bytes);
		const without = drainTime(others, sizes);
		const withThis = Math.max(own, drainTime(others, sizes.slice(1)));
		return withThis <= without;
	}

	/**
	 * The part in flight that this holder would speed up the most: by fetching its tail while
	 * the holder on it goes on with the head (when that ends sooner), or by racing it whole.
	 */
	#raceCandidate(holder: HolderState, now: number): {index: number; from?: number; with?: string} | undefined {
		let best: {index: number; from?: number; with?: string; remaining: number} | undefined;
		for (const [index, part] of this.#parts.entries()) {
			if (part.done || part.racers.size === 0 || part.racers.size >= this.#maxRacers || part.racers.has(holder.id) || !this.#holds(holder, index) || this.#excluded(holder.id, part)) {
				continue;
			}

			const racersLeft = [...part.racers].map(racer => this.remainingMs(racer, now) ?? Number.POSITIVE_INFINITY);
			const remaining = Math.min(...racersLeft);
			const own = this.estimateMs(holder.id, part.bytes);
			const tail = part.racers.size === 1 ? this.#tailSplit(holder, [...part.racers][0]!, part, now) : undefined;
			let choice: {index: number; from?: number; with?: string; remaining: number} | undefined;
			if (tail && tail.finishMs < remaining && (own === undefined || tail.finishMs < own)) {
				choice = {index, from: tail.from, with: tail.with, remaining};
			} else if (own === undefined || own < remaining) {
				choice = {index, remaining};
			}

			if (choice && (!best || choice.remaining > best.remaining)) {
				best = choice;
			}
		}

		return best && (best.from === undefined ? {index: best.index} : {index: best.index, from: best.from, with: best.with});
	}

	/**
	 * Where to cut a part that `other` is fetching whole so that `holder`, fetching the tail from
	 * the cut, and `other`, reaching the cut, finish together; undefined when it does not pay.
	 */
	#tailSplit(holder: HolderState, otherId: string, part: PartState, now: number): {from: number; with: string; finishMs: number} | undefined {
		const other = this.#holders.get(otherId)!;
		const fetch = other.assignment!;
		if (part.noSplit || fetch.from !== 0 || fetch.firstByteAt === undefined || holder.bytesPerMs === undefined) {
			return undefined;
		}

		const flowing = now - fetch.firstByteAt;
		if (flowing < liveRateAfterMs || fetch.received === 0) {
			return undefined;
		}

		const otherRate = fetch.received / flowing;
		// A head that has gone quiet, or crawls next to the helper, might never reach the cut.
		if (now - (fetch.lastByteAt ?? fetch.firstByteAt) > quietAfterMs || otherRate < holder.bytesPerMs / 4) {
			return undefined;
		}

		const left = part.bytes - fetch.received;
		const ttfb = holder.ttfbMs ?? 0;
		// holder: ttfb + tail / its rate = other: (left - tail) / its rate.
		const tail = Math.floor(((left / otherRate) - ttfb) / ((1 / holder.bytesPerMs) + (1 / otherRate)));
		if (tail < minSplitBytes || tail >= left) {
			return undefined;
		}

		return {from: part.bytes - tail, with: otherId, finishMs: (left - tail) / otherRate};
	}

	#measure(holder: HolderState, assignment: Fetch, bytes: number, now: number): void {
		const firstByteAt = assignment.firstByteAt ?? now;
		const ttfb = firstByteAt - assignment.startedAt;
		holder.ttfbMs = holder.ttfbMs === undefined ? ttfb : (smoothing * ttfb) + ((1 - smoothing) * holder.ttfbMs);
		const flowing = Math.max(1, now - firstByteAt);
		const rate = bytes / flowing;
		holder.bytesPerMs = holder.bytesPerMs === undefined ? rate : (smoothing * rate) + ((1 - smoothing) * holder.bytesPerMs);
	}
}
