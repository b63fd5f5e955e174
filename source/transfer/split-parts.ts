/**
 * Parts fetched in two halves: the head from the holder fetching the part whole (its bytes so
 * far), the tail from a helper that started at a cut. The halves are joined once the head has
 * reached the cut, and checked together.
 */
import {createHash} from 'node:crypto';

/** True when `bytes` hash to `md5`: every part is checked in memory before it is written. */
export function partMatches(bytes: Uint8Array, md5: string | undefined): boolean {
	return createHash('md5').update(bytes).digest('hex') === md5;
}

type Head = {part: number; bytes: Buffer; received: number};
type Tail = {holder: string; from: number; bytes: Buffer};

export class SplitParts {
	/** Whole-part fetches in flight by holder: their bytes so far serve as the head of a split part. */
	readonly #heads = new Map<string, Head>();
	/** Tails that arrived before the head reached the cut, by part. */
	readonly #tails = new Map<number, Tail>();

	/** A holder starts fetching a part whole into `bytes`; returns the head to update as bytes arrive. */
	startHead(holder: string, part: number, bytes: Buffer): Head {
		const head = {part, bytes, received: 0};
		this.#heads.set(holder, head);
		return head;
	}

	endHead(holder: string, head: Head): void {
		if (this.#heads.get(holder) === head) {
			this.#heads.delete(holder);
		}
	}

	addTail(part: number, tail: Tail): void {
		this.#tails.set(part, tail);
	}

	/** Forgets the tails a holder fetched (its fetch was cancelled). */
	dropTailsOf(holder: string): void {
		for (const [part, tail] of this.#tails) {
			if (tail.holder === holder) {
				this.#tails.delete(part);
			}
		}
	}

	/** The joined bytes of a part once both halves are in (and who sent the tail); the tail is taken. */
	join(part: number): {holder: string; bytes: Buffer} | undefined {
		const tail = this.#tails.get(part);
		const head = [...this.#heads.values()].find(candidate => candidate.part === part);
		if (!tail || !head || head.received < tail.from) {
			return undefined;
		}

		this.#tails.delete(part);
		return {holder: tail.holder, bytes: Buffer.concat([head.bytes.subarray(0, tail.from), tail.bytes])};
	}
}
