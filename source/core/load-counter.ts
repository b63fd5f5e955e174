/** Load = uploads + downloads in progress. Each start returns a release that counts once, whatever ends the transfer. */
export type LoadListener = (load: number) => void;

export class LoadCounter {
	#uploads = 0;
	#downloads = 0;
	readonly #listeners = new Set<LoadListener>();

	get uploads(): number {
		return this.#uploads;
	}

	get downloads(): number {
		return this.#downloads;
	}

	get load(): number {
		return this.#uploads + this.#downloads;
	}

	startUpload(): () => void {
		this.#uploads++;
		this.#emit();
		return once(() => {
			this.#uploads--;
			this.#emit();
		});
	}

	startDownload(): () => void {
		this.#downloads++;
		this.#emit();
		return once(() => {
			this.#downloads--;
			this.#emit();
		});
	}

	onChange(listener: LoadListener): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	#emit(): void {
		for (const listener of this.#listeners) {
			listener(this.load);
		}
	}
}

function once(action: () => void): () => void {
	let done = false;
	return () => {
		if (!done) {
			done = true;
			action();
		}
	};
}
