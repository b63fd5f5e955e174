/** Holder selection: cost = latency + k·load, and the rules it is measured against (pure). */

export type Policy = 'cost' | 'latency' | 'load' | 'random';
export const policies: readonly Policy[] = ['cost', 'latency', 'load', 'random'];

/**
 * Milliseconds of latency that one unit of load (an upload or download in progress) is worth.
 * Chosen by the k sweep of `npm run bench:selection` (bench/results/selection-k.csv, README
 * "Choosing a holder"): the smallest k within one standard error of the lowest mean download
 * time over 2–8 hosts. k = 1000, 2000 and 4000 measured within 1% of each other; 125 and 250
 * were slower. 1000 ms is also what the model predicts for the study's workload: one more
 * transfer in progress delays a download by one transfer time, 1 s at the nominal upload limit.
 */
export const defaultK = 1000;

export type Candidate = {id: string; url: string; latencyMs: number; load: number};
export type ScoredHolder = Candidate & {cost: number};

export function costOf(latencyMs: number, load: number, k: number = defaultK): number {
	return latencyMs + (k * load);
}

/**
 * Orders holders best first under a policy. Ties fall back to cost, then id,
 * so the order is deterministic for everything but `random`.
 */
export function rankHolders(
	candidates: readonly Candidate[],
	options: {policy?: Policy; k?: number; random?: () => number} = {},
): ScoredHolder[] {
	const {policy = 'cost', k = defaultK, random = Math.random} = options;
	const scored = candidates.map(candidate => ({...candidate, cost: costOf(candidate.latencyMs, candidate.load, k)}));
	const byCostThenId = (a: ScoredHolder, b: ScoredHolder) => a.cost - b.cost || a.id.localeCompare(b.id);
	switch (policy) {
		case 'cost': {
			return scored.sort(byCostThenId);
		}

		case 'latency': {
			return scored.sort((a, b) => a.latencyMs - b.latencyMs || byCostThenId(a, b));
		}

		case 'load': {
			return scored.sort((a, b) => a.load - b.load || byCostThenId(a, b));
		}

		case 'random': {
			const keyed = scored.map(holder => ({holder, key: random()}));
			return keyed.sort((a, b) => a.key - b.key).map(({holder}) => holder);
		}
	}
}

export function isPolicy(value: string): value is Policy {
	return (policies as readonly string[]).includes(value);
}
