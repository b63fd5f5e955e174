/** The emulated latency between machIDs, parsed from latency.csv (pure). */
import {UsageError} from '../common/errors.js';
import {isValidPeerId} from '../common/wire.js';

export const minLatencyMs = 100;
export const maxLatencyMs = 5000;

export class LatencyTable {
	/** The largest value in the file: the latency of any pair the file does not give. */
	readonly fallbackMs: number;
	readonly #explicit: Map<string, number>;

	constructor(explicit: Map<string, number>) {
		this.#explicit = explicit;
		this.fallbackMs = explicit.size === 0 ? maxLatencyMs : Math.max(...explicit.values());
	}

	/** One-way latency from `from` to `to`; 0 to itself. */
	between(from: string, to: string): number {
		if (from === to) {
			return 0;
		}

		return this.#explicit.get(pairKey(from, to)) ?? this.#explicit.get(pairKey(to, from)) ?? this.fallbackMs;
	}

	/** Every machID the file names. */
	get ids(): string[] {
		const ids = new Set<string>();
		for (const key of this.#explicit.keys()) {
			const [from, to] = key.split('\u0000');
			ids.add(from!);
			ids.add(to!);
		}

		return [...ids].sort();
	}
}

function pairKey(from: string, to: string): string {
	return `${from}\u0000${to}`;
}

/**
 * Parses `from,to,ms` rows after a header. A row covers both directions unless
 * the reverse row is also given. Errors name `file:line`.
 */
export function parseLatencyCsv(text: string, fileName = 'latency.csv'): LatencyTable {
	const explicit = new Map<string, number>();
	const lines = text.split(/\r?\n/);
	let sawHeader = false;
	for (const [index, rawLine] of lines.entries()) {
		const where = `${fileName}:${index + 1}`;
		const line = rawLine.trim();
		if (line === '' || line.startsWith('#')) {
			continue;
		}

		const cells = line.split(',').map(cell => cell.trim());
		if (!sawHeader) {
			if (cells.join(',').toLowerCase() !== 'from,to,ms') {
				throw new UsageError(`${where}: expected the header "from,to,ms", got "${truncate(line)}"`);
			}

			sawHeader = true;
			continue;
		}

		if (cells.length !== 3) {
			throw new UsageError(`${where}: expected 3 fields from,to,ms, got ${cells.length}`);
		}

		const [from, to, msText] = cells as [string, string, string];
		for (const id of [from, to]) {
			if (!isValidPeerId(id)) {
				throw new UsageError(`${where}: invalid machID "${truncate(id)}"`);
			}
		}

		if (from === to) {
			throw new UsageError(`${where}: a peer's latency to itself is 0; remove the row ${from},${to}`);
		}

		if (!/^\d+(\.\d+)?$/.test(msText)) {
			throw new UsageError(`${where}: ms must be a number, got "${truncate(msText)}"`);
		}

		const ms = Number(msText);
		if (ms < minLatencyMs || ms > maxLatencyMs) {
			throw new UsageError(`${where}: ms must be in [${minLatencyMs}, ${maxLatencyMs}], got ${msText}`);
		}

		const key = pairKey(from, to);
		if (explicit.has(key)) {
			throw new UsageError(`${where}: the pair ${from},${to} is given twice`);
		}

		explicit.set(key, ms);
	}

	if (!sawHeader) {
		throw new UsageError(`${fileName}:1: empty file; expected the header "from,to,ms"`);
	}

	return new LatencyTable(explicit);
}

function truncate(text: string): string {
	return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
