/**
 * Swarm: who is downloading which file by parts, as each peer last said (soft state), indexed by
 * peer (a peer's next report replaces its last) and by name (a Find reads only that name's).
 */
import type {PartialEntry} from '../source/common/wire.js';

export class PartialHolders {
	/** peer id → name → its entry. */
	readonly #byPeer = new Map<string, Map<string, PartialEntry>>();
	/** name → peer id → the same entry. */
	readonly #byName = new Map<string, Map<string, PartialEntry>>();

	/** Replaces what peer `id` said before; returns the names whose partial holders changed. */
	set(id: string, files: readonly PartialEntry[]): string[] {
		const changed = new Set(this.clear(id));
		if (files.length === 0) {
			return [...changed];
		}

		const mine = new Map<string, PartialEntry>();
		for (const file of files) {
			// A name given twice keeps its last entry.
			mine.set(file.name, file);
		}

		this.#byPeer.set(id, mine);
		for (const [name, entry] of mine) {
			let peers = this.#byName.get(name);
			if (!peers) {
				peers = new Map();
				this.#byName.set(name, peers);
			}

			peers.set(id, entry);
			changed.add(name);
		}

		return [...changed];
	}

	/** Forgets what peer `id` said; returns the names it was downloading. */
	clear(id: string): string[] {
		const mine = this.#byPeer.get(id);
		if (!mine) {
			return [];
		}

		this.#byPeer.delete(id);
		for (const name of mine.keys()) {
			const peers = this.#byName.get(name);
			peers?.delete(id);
			if (peers?.size === 0) {
				this.#byName.delete(name);
			}
		}

		return [...mine.keys()];
	}

	/** The peers that said they are downloading `name`, with what they said (peer id → entry). */
	of(name: string): ReadonlyMap<string, PartialEntry> | undefined {
		return this.#byName.get(name);
	}
}
