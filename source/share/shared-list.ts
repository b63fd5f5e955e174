/**
 * A peer's list of shared files, held as entries or as their JSON text: the share-dir thread
 * sends the text, which goes to the tracker as it is and is parsed only when the entries are
 * first asked for. Each form is made from the other at most once.
 */
import type {FileEntry} from '../common/wire.js';

export class SharedList {
	#entries: readonly FileEntry[] | undefined;
	#json: string | undefined;

	private constructor(entries: readonly FileEntry[] | undefined, json: string | undefined) {
		this.#entries = entries;
		this.#json = json;
	}

	static of(entries: readonly FileEntry[]): SharedList {
		return new SharedList(entries, undefined);
	}

	/** From the JSON text of a list of entries that this program wrote (JSON.stringify of entries). */
	static fromJson(json: string): SharedList {
		return new SharedList(undefined, json);
	}

	get entries(): readonly FileEntry[] {
		this.#entries ??= JSON.parse(this.#json!) as FileEntry[];
		return this.#entries;
	}

	/** The entries as a JSON array, the `files` of an UpdateList. */
	get json(): string {
		this.#json ??= JSON.stringify(this.#entries);
		return this.#json;
	}
}
