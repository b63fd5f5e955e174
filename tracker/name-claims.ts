/**
 * Who claims each name: the latest record of each owner the tracker's holders carry. Most names
 * have one owner, kept without a map of its own (a Map per name costs more than the claim in it).
 */

/**
 * An owner's latest record of a name (the highest version any holder carries), when the tracker
 * first saw a record of that owner for the name, how many holders carry one, and whether its
 * signature was checked (a copy's record is; an owner's own is taken on the word of its signed list).
 */
export type Claim = {owner: string; md5: string; size: number; version: number; sig: string | undefined; since: number; count: number; checked: boolean};

export class NameClaims {
	readonly #byName = new Map<string, Claim | Map<string, Claim>>();

	/** The claims of a name, in no order; undefined when it has none. */
	of(name: string): readonly Claim[] | undefined {
		const claims = this.#byName.get(name);
		return claims === undefined ? undefined : (claims instanceof Map ? [...claims.values()] : [claims]);
	}

	get(name: string, owner: string): Claim | undefined {
		const claims = this.#byName.get(name);
		return claims instanceof Map ? claims.get(owner) : (claims?.owner === owner ? claims : undefined);
	}

	count(name: string): number {
		const claims = this.#byName.get(name);
		return claims instanceof Map ? claims.size : (claims === undefined ? 0 : 1);
	}

	/** Adds an owner's claim of a name; an owner has one claim per name (a second replaces the first). */
	add(name: string, claim: Claim): void {
		const claims = this.#byName.get(name);
		if (claims === undefined || (!(claims instanceof Map) && claims.owner === claim.owner)) {
			this.#byName.set(name, claim);
		} else if (claims instanceof Map) {
			claims.set(claim.owner, claim);
		} else {
			this.#byName.set(name, new Map([[claims.owner, claims], [claim.owner, claim]]));
		}
	}

	delete(name: string, owner: string): void {
		const claims = this.#byName.get(name);
		if (!(claims instanceof Map)) {
			if (claims?.owner === owner) {
				this.#byName.delete(name);
			}

			return;
		}

		claims.delete(owner);
		if (claims.size === 1) {
			this.#byName.set(name, claims.values().next().value!);
		}
	}
}
