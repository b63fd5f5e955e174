/**
 * This peer's name records, kept in `.xfs/names.json`: the records it signed for the names it
 * published (a new version whenever a file's content changed), and the owners' records of the
 * copies it fetched, which go with those copies when it lists them.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {signNameRecord, verifyNameRecord} from '../common/names.js';
import type {Identity} from '../common/signing.js';
import type {FileEntry, NameRecord, RecordedEntry} from '../common/wire.js';
import {writeFileAtomically} from './atomic-write.js';
import {stateDirName} from './share-dir.js';

type StoredRecord = {md5: string; size: number; owner: string; version: number; sig: string};
type NamesFile = {own: Record<string, StoredRecord>; copies: Record<string, StoredRecord>};

export const namesFileName = 'names.json';

export class NameBook {
	readonly #dir: string;
	readonly #identity: Identity;
	readonly #own: Map<string, StoredRecord>;
	readonly #copies: Map<string, StoredRecord>;
	#saving: Promise<void> = Promise.resolve();
	#dirty = false;

	private constructor(dir: string, identity: Identity, stored: NamesFile) {
		this.#dir = dir;
		this.#identity = identity;
		// Records of another key under "own" (the key file was replaced) are signed again.
		this.#own = new Map(Object.entries(stored.own).filter(([, record]) => record.owner === identity.publicKey));
		this.#copies = new Map(Object.entries(stored.copies));
	}

	/** The share dir's records; an unreadable or malformed file is started afresh (its records are signed again). */
	static async load(shareDir: string, identity: Identity): Promise<NameBook> {
		const dir = path.join(shareDir, stateDirName);
		let stored: NamesFile = {own: {}, copies: {}};
		try {
			const parsed = JSON.parse(await fs.readFile(path.join(dir, namesFileName), 'utf8')) as Partial<NamesFile>;
			if (typeof parsed.own === 'object' && parsed.own && typeof parsed.copies === 'object' && parsed.copies) {
				stored = {own: parsed.own, copies: parsed.copies};
			}
		} catch {}

		return new NameBook(dir, identity, stored);
	}

	/**
	 * The entry with the record it is listed with: the owner's record of a copy of that content,
	 * else this peer's own, signed again with the next version when the content changed.
	 */
	recorded(entry: FileEntry): RecordedEntry {
		const {name, md5, size} = entry;
		const copy = this.#copies.get(name);
		if (copy?.md5 === md5 && copy.size === size) {
			return {name, md5, size, owner: copy.owner, version: copy.version, sig: copy.sig};
		}

		let own = this.#own.get(name);
		if (own?.md5 !== md5 || own.size !== size) {
			// A new name, or new content under it (edited here, or a downloaded copy edited): the next version, this peer's.
			const version = Math.max(own?.version ?? 0, copy?.version ?? 0) + 1;
			own = {md5, size, ...signNameRecord(this.#identity, entry, version)};
			this.#own.set(name, own);
			this.#copies.delete(name);
			this.#changed();
		}

		return {name, md5, size, version: own.version, sig: own.sig};
	}

	/** A copy just fetched: keeps its owner's record (when it is one, for this content) to list with it. */
	adopt(entry: FileEntry, record: Partial<NameRecord>): boolean {
		const {owner, version, sig} = record;
		if (owner === undefined || version === undefined || sig === undefined || !verifyNameRecord(entry, {owner, version, sig})) {
			return false;
		}

		if (owner === this.#identity.publicKey) {
			// This peer's own name, fetched back.
			this.#own.set(entry.name, {md5: entry.md5, size: entry.size, owner, version, sig});
		} else {
			this.#copies.set(entry.name, {md5: entry.md5, size: entry.size, owner, version, sig});
		}

		this.#changed();
		return true;
	}

	/** Written once the last change is in (best effort: lost records are signed again, with a new version). */
	async flush(): Promise<void> {
		await this.#saving;
	}

	#changed(): void {
		if (this.#dirty) {
			return;
		}

		this.#dirty = true;
		this.#saving = this.#saving.then(async () => {
			await new Promise(resolve => {
				setImmediate(resolve);
			});
			this.#dirty = false;
			const file: NamesFile = {own: Object.fromEntries(this.#own), copies: Object.fromEntries(this.#copies)};
			await writeFileAtomically(this.#dir, namesFileName, JSON.stringify(file)).catch(() => {});
		});
	}
}
