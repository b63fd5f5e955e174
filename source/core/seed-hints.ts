/**
 * Super-seeding hints of a holder of the whole file (pure): how often each part of a file was sent
 * (or is promised to a downloader), and, with each part sent, the parts sent least so far, for that
 * downloader to ask for next; they are promised to it, so the next downloader is told other parts.
 */

/** Parts suggested with each part sent. */
export const suggestionCount = 4;
/** Files and downloaders remembered per file: the oldest are forgotten beyond these. */
const maxFiles = 16;
const maxRequesters = 256;

type FileHints = {sent: Uint32Array; promised: Uint32Array; byRequester: Map<string, number[]>};

export class SeedHints {
	readonly #files = new Map<string, FileHints>();
	readonly #random: () => number;

	constructor(random: () => number = Math.random) {
		this.#random = random;
	}

	/**
	 * `requester` is sent `part` of a file (`key`: the file's version, `parts`: its part count):
	 * returns the parts to suggest to it, the least sent first, then the least promised (ties at random),
	 * never the part it is sent now.
	 */
	sent(key: string, parts: number, requester: string, part: number): number[] {
		const file = this.#file(key, parts);
		if (part < 0 || part >= parts || !Number.isInteger(part)) {
			return [];
		}

		this.#forget(file, requester);
		file.sent[part]!++;
		const chosen: Array<{index: number; score: number; tie: number}> = [];
		for (let index = 0; index < parts; index++) {
			if (index === part) {
				continue;
			}

			// A part sent once more outweighs any number of promises: parts never sent go first, shared if need be.
			const score = (file.sent[index]! * (maxRequesters + 1)) + file.promised[index]!;
			if (chosen.length === suggestionCount && score > chosen.at(-1)!.score) {
				continue;
			}

			const candidate = {index, score, tie: this.#random()};
			chosen.push(candidate);
			chosen.sort((a, b) => a.score - b.score || a.tie - b.tie);
			if (chosen.length > suggestionCount) {
				chosen.pop();
			}
		}

		const suggested = chosen.map(({index}) => index);
		for (const index of suggested) {
			file.promised[index]!++;
		}

		file.byRequester.set(requester, suggested);
		if (file.byRequester.size > maxRequesters) {
			this.#forget(file, file.byRequester.keys().next().value!);
		}

		return suggested;
	}

	/** How often each part was sent (for tests and diagnostics). */
	sentCounts(key: string): number[] {
		return [...(this.#files.get(key)?.sent ?? [])];
	}

	#forget(file: FileHints, requester: string): void {
		for (const index of file.byRequester.get(requester) ?? []) {
			file.promised[index]!--;
		}

		file.byRequester.delete(requester);
	}

	#file(key: string, parts: number): FileHints {
		let file = this.#files.get(key);
		if (file?.sent.length !== parts) {
			file = {sent: new Uint32Array(parts), promised: new Uint32Array(parts), byRequester: new Map()};
			this.#files.delete(key);
			this.#files.set(key, file);
			if (this.#files.size > maxFiles) {
				this.#files.delete(this.#files.keys().next().value!);
			}
		}

		return file;
	}
}
