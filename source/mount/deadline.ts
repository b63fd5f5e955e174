/** When a FUSE operation must be answered by: the glue expires it, and work waiting on the network hears about it and stops waiting. */
export class Deadline {
	#expired = false;
	#listeners: Array<() => void> | undefined;

	get expired(): boolean {
		return this.#expired;
	}

	/** Calls `listener` when the deadline passes (at once if it has); returns a function that stops listening. */
	onExpire(listener: () => void): () => void {
		if (this.#expired) {
			listener();
			return () => {};
		}

		(this.#listeners ??= []).push(listener);
		return () => {
			this.#listeners = this.#listeners?.filter(other => other !== listener);
		};
	}

	expire(): void {
		if (!this.#expired) {
			this.#expired = true;
			for (const listener of this.#listeners?.splice(0) ?? []) {
				listener();
			}
		}
	}
}
