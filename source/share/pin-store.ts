/**
 * The durable anchor of replication: the files this peer keeps pinned, and the ones it put, in
 * `<share>/.xfs/pins.json` (written whole or not at all), so they survive a restart of the peer
 * and of the tracker (which learns them again from the lists the holders send).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {isReplicaCount, isValidFileName, isValidPeerId} from '../common/wire.js';
import {writeFileAtomically} from './atomic-write.js';
import {stateDirName} from './share-dir.js';

/**
 * A pinned copy: `replica` was taken for others (removed when released), `own` is a file this
 * peer had anyway (kept as an ordinary shared file when released). `owner` is the peer that put it.
 */
export type Pin = {md5: string; size: number; r: number; role: 'replica' | 'own'; owner?: string};
/** A file this peer put: it pushes new versions of it to the placement peers. */
export type Put = {r: number};

type PinFile = {pins: Record<string, Pin>; puts: Record<string, Put>};

export const pinFileName = 'pins.json';

export class PinStore {
	static async open(shareDir: string): Promise<PinStore> {
		const store = new PinStore(path.join(shareDir, stateDirName));
		let text: string | undefined;
		try {
			text = await fs.readFile(path.join(store.#dir, pinFileName), 'utf8');
		} catch {}

		if (text !== undefined) {
			store.#load(text);
		}

		return store;
	}

	readonly pins = new Map<string, Pin>();
	readonly puts = new Map<string, Put>();
	readonly #dir: string;
	#saving: Promise<void> = Promise.resolve();

	private constructor(dir: string) {
		this.#dir = dir;
	}

	/** Bytes held as replicas for others (what --replica-space bounds). */
	get replicaBytes(): number {
		let total = 0;
		for (const pin of this.pins.values()) {
			total += pin.role === 'replica' ? pin.size : 0;
		}

		return total;
	}

	async pin(name: string, pin: Pin): Promise<void> {
		this.pins.set(name, pin);
		await this.save();
	}

	async unpin(name: string): Promise<Pin | undefined> {
		const pin = this.pins.get(name);
		if (pin) {
			this.pins.delete(name);
			await this.save();
		}

		return pin;
	}

	async put(name: string, put: Put | undefined): Promise<void> {
		if (put) {
			this.puts.set(name, put);
		} else {
			this.puts.delete(name);
		}

		await this.save();
	}

	/** Saves are chained: the last state always lands last. */
	async save(): Promise<void> {
		const text = JSON.stringify({pins: Object.fromEntries(this.pins), puts: Object.fromEntries(this.puts)} satisfies PinFile, undefined, '\t');
		this.#saving = this.#saving.catch(() => {}).then(async () => writeFileAtomically(this.#dir, pinFileName, `${text}\n`));
		await this.#saving;
	}

	/** A damaged file or entry is ignored entry by entry: a pin is soft state, repair puts it back. */
	#load(text: string): void {
		let parsed: Partial<PinFile>;
		try {
			parsed = JSON.parse(text) as Partial<PinFile>;
		} catch {
			return;
		}

		for (const [name, pin] of Object.entries(parsed.pins ?? {})) {
			if (isValidFileName(name) && typeof pin?.md5 === 'string' && /^[\da-f]{32}$/.test(pin.md5) && Number.isSafeInteger(pin.size) && isReplicaCount(pin.r)
				&& (pin.role === 'replica' || pin.role === 'own') && (pin.owner === undefined || isValidPeerId(pin.owner))) {
				this.pins.set(name, {md5: pin.md5, size: pin.size, r: pin.r, role: pin.role, ...(pin.owner ? {owner: pin.owner} : {})});
			}
		}

		for (const [name, put] of Object.entries(parsed.puts ?? {})) {
			if (isValidFileName(name) && isReplicaCount(put?.r)) {
				this.puts.set(name, {r: put.r});
			}
		}
	}
}
