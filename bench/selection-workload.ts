/**
 * The selection benchmark's workload and statistics (pure): where peers sit, the
 * latency matrix, which holders hold which file, the configurations measured,
 * and the summaries drawn from the timings.
 */
import {maxLatencyMs, minLatencyMs} from '../source/core/latency-table.js';
import type {Policy} from '../source/core/cost.js';

/** mulberry32: a small seeded generator, so every policy sees the same workload. */
export function seededRandom(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6D_2B_79_F5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
	};
}

export type Point = {x: number; y: number};

export type Workload = {
	holders: string[];
	/** Where downloaders sit: every configuration measured puts one downloader on each seat. */
	seats: string[];
	/** latency ms between each seat and each holder. */
	latency: Map<string, Map<string, number>>;
	/** The order in which holders take a copy of the file: with `hosts` hosts, the first `hosts` of it hold it. */
	holderOrder: string[];
	/** How many downloads each downloader makes in one cell, one after another. */
	downloadsEach: number;
	/**
	 * Each seat's pause before its first download of a cell in each round, as a fraction of one nominal
	 * transfer. Drawn afresh for every round (and the same for every policy and host count in it), so no
	 * one arrangement of arrivals, such as two seats that always start together, decides the result.
	 */
	startOffsets: Map<string, number[]>;
};

/** Latency grows with distance on a unit square: 100 ms next door, 2000 ms across the diagonal. */
export const latencyPerDiagonal = 1900;

export function latencyOf(a: Point, b: Point): number {
	const distance = Math.hypot(a.x - b.x, a.y - b.y) / Math.SQRT2;
	return Math.min(maxLatencyMs, Math.max(minLatencyMs, Math.round(minLatencyMs + (latencyPerDiagonal * distance))));
}

export function makeWorkload({seed, holders, seats, downloadsEach, rounds = 1}: {seed: number; holders: number; seats: number; downloadsEach: number; rounds?: number}): Workload {
	const random = seededRandom(seed);
	const place = (): Point => ({x: random(), y: random()});
	const holderIds = Array.from({length: holders}, (_, index) => `h${index + 1}`);
	const seatIds = Array.from({length: seats}, (_, index) => `d${index + 1}`);
	const holderAt = new Map(holderIds.map(id => [id, place()]));
	const seatAt = new Map(seatIds.map(id => [id, place()]));
	const latency = new Map<string, Map<string, number>>();
	for (const seat of seatIds) {
		latency.set(seat, new Map(holderIds.map(holder => [holder, latencyOf(seatAt.get(seat)!, holderAt.get(holder)!)])));
	}

	const holderOrder = shuffle(holderIds, random);
	const offsets = Array.from({length: rounds}, () => seatIds.map(() => random()));
	const startOffsets = new Map(seatIds.map((id, seat) => [id, offsets.map(round => round[seat]!)]));
	return {holders: holderIds, seats: seatIds, latency, holderOrder, downloadsEach, startOffsets};
}

/** Fisher–Yates with a seeded generator. */
export function shuffle<T>(items: readonly T[], random: () => number): T[] {
	const copy = [...items];
	for (let index = copy.length - 1; index > 0; index--) {
		const other = Math.floor(random() * (index + 1));
		[copy[index], copy[other]] = [copy[other]!, copy[index]!];
	}

	return copy;
}

/** The machID of the downloader on `seat` for the `configuration`th configuration. */
export function downloaderId(seat: string, configuration: number): string {
	return `${seat}-c${configuration}`;
}

/**
 * The name under which `downloader` fetches the file for the `n`th time in the cell with `hosts` hosts.
 * Every name is a copy of the same popular file on the same hosts; a name per download keeps a finished
 * downloader (which becomes a holder of what it fetched) from adding to the hosts the others see.
 */
export function fileName(hosts: number, downloader: string, n: number): string {
	return `f-h${hosts}-${downloader}-n${n}.bin`;
}

/** For every holder, the file names it must hold: in the cell with `hosts` hosts, the first `hosts` of the holder order hold every name. */
export function holdings(workload: Workload, hostCounts: readonly number[], configurations: number): Map<string, string[]> {
	const byHolder = new Map<string, string[]>(workload.holders.map(holder => [holder, []]));
	for (const hosts of hostCounts) {
		for (const holder of workload.holderOrder.slice(0, hosts)) {
			for (let configuration = 0; configuration < configurations; configuration++) {
				for (const seat of workload.seats) {
					for (let n = 0; n < workload.downloadsEach; n++) {
						byHolder.get(holder)!.push(fileName(hosts, downloaderId(seat, configuration), n));
					}
				}
			}
		}
	}

	return byHolder;
}

/** latency.csv for the holders and every configuration's downloaders (a downloader has its seat's latencies). */
export function latencyCsv(workload: Workload, configurations: number): string {
	const rows = ['from,to,ms'];
	for (const [seat, row] of workload.latency) {
		for (let configuration = 0; configuration < configurations; configuration++) {
			for (const [holder, ms] of row) {
				rows.push(`${downloaderId(seat, configuration)},${holder},${ms}`);
			}
		}
	}

	return `${rows.join('\n')}\n`;
}

/** One way of choosing a holder: a policy, and for `cost` its k. */
export type Configuration = {policy: Policy; k?: number};

export function configurationName({policy, k}: Configuration): string {
	return policy === 'cost' ? `cost k=${k}` : policy;
}

export type Sample = {seed: number; round: number; configuration: Configuration; hosts: number; seat: string; n: number; ms: number; ok: boolean; from?: string};

export type Summary = {downloads: number; failed: number; meanMs: number; p95Ms: number; medianMs: number};

export function summarize(timesMs: readonly number[], failed = 0): Summary {
	const sorted = [...timesMs].sort((a, b) => a - b);
	const mean = sorted.reduce((sum, ms) => sum + ms, 0) / Math.max(1, sorted.length);
	return {downloads: sorted.length, failed, meanMs: mean, p95Ms: quantile(sorted, 0.95), medianMs: quantile(sorted, 0.5)};
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
	if (sorted.length === 0) {
		return Number.NaN;
	}

	return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function summarizeCell(samples: readonly Sample[]): Summary {
	return summarize(samples.filter(sample => sample.ok).map(sample => sample.ms), samples.filter(sample => !sample.ok).length);
}

export type KMean = {k: number; meanMs: number; standardErrorMs: number; replicates: number};

/**
 * For each k, the mean download time over the downloads with a choice to make (hosts ≥ 2), and its
 * standard error across replicates (one replicate = one seed and round: every host count once).
 */
export function meanByK(samples: readonly Sample[]): KMean[] {
	const byK = new Map<number, Map<string, number[]>>();
	for (const sample of samples) {
		if (sample.configuration.policy !== 'cost' || sample.hosts < 2 || !sample.ok) {
			continue;
		}

		const replicates = byK.get(sample.configuration.k!) ?? new Map<string, number[]>();
		byK.set(sample.configuration.k!, replicates);
		const key = `${sample.seed}/${sample.round}`;
		replicates.set(key, [...(replicates.get(key) ?? []), sample.ms]);
	}

	return [...byK].map(([k, replicates]) => {
		const means = [...replicates.values()].map(times => times.reduce((sum, ms) => sum + ms, 0) / times.length);
		const mean = means.reduce((sum, ms) => sum + ms, 0) / means.length;
		const variance = means.reduce((sum, ms) => sum + ((ms - mean) ** 2), 0) / Math.max(1, means.length - 1);
		return {k, meanMs: mean, standardErrorMs: Math.sqrt(variance / means.length), replicates: means.length};
	}).sort((a, b) => a.k - b.k);
}

/**
 * The one-standard-error rule: the smallest k whose mean is within one standard error of the
 * lowest mean. Means closer than that are not told apart by the sweep, and a smaller k keeps
 * more of the latency signal (a k above the largest latency difference ranks by load alone).
 */
export function chooseK(byK: readonly KMean[]): number {
	if (byK.length === 0) {
		throw new Error('the k sweep has no cell with two or more hosts');
	}

	const best = [...byK].sort((a, b) => a.meanMs - b.meanMs || a.k - b.k)[0]!;
	return [...byK].sort((a, b) => a.k - b.k).find(entry => entry.meanMs <= best.meanMs + best.standardErrorMs)!.k;
}

export type Verdict = {claim: string; holds: boolean; detail: string};

/** The expectation the study tests: with more hosts cost falls, and at the most hosts it beats random by 20% and is no worse than latency. */
export function checkExpectation(means: ReadonlyMap<string, ReadonlyMap<number, number>>, hostCounts: readonly number[]): Verdict[] {
	const first = hostCounts[0]!;
	const last = hostCounts.at(-1)!;
	const cost = means.get('cost')!;
	const random = means.get('random')!;
	const latency = means.get('latency')!;
	const costSeries = hostCounts.map(hosts => cost.get(hosts)!);
	const rises = costSeries.flatMap((ms, index) => (index > 0 && ms > costSeries[index - 1]! ? [`${hostCounts[index - 1]}→${hostCounts[index]} hosts +${Math.round(100 * ((ms / costSeries[index - 1]!) - 1))}%`] : []));
	const costLast = cost.get(last)!;
	const randomLast = random.get(last)!;
	const latencyLast = latency.get(last)!;
	return [
		{
			claim: `cost mean falls from ${first} to ${last} hosts`,
			holds: costLast < cost.get(first)!,
			detail: `${costSeries.map(ms => Math.round(ms)).join(' → ')} ms${rises.length === 0 ? ', every step down' : `; rises: ${rises.join(', ')}`}`,
		},
		{
			claim: `at ${last} hosts cost is at least 20% below random`,
			holds: costLast <= 0.8 * randomLast,
			detail: `${Math.round(costLast)} vs ${Math.round(randomLast)} ms: ${Math.round(100 * (1 - (costLast / randomLast)))}% below`,
		},
		{
			claim: `at ${last} hosts cost is no worse than latency`,
			holds: costLast <= latencyLast,
			detail: `${Math.round(costLast)} vs ${Math.round(latencyLast)} ms`,
		},
	];
}
