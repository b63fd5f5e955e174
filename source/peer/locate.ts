/**
 * Find as a download and the find command need it: waits with back-off while the tracker is
 * down, serves the last known holders meanwhile, and asks again about a NOT_FOUND from a
 * tracker that came back less than a heartbeat ago (the other peers may not have re-sent yet).
 * With a DHT node, the tracker is only the fast path: while it is down the DHT answers at once;
 * without a tracker, the DHT is the only way.
 */
import {setTimeout as sleep} from 'node:timers/promises';
import {TrackerDownError, XfsError} from '../common/errors.js';
import type {FindReply} from '../common/wire.js';
import {backoffDelay, trackerBackoff} from '../core/retry-policy.js';
import type {TrackerClient} from '../clients/tracker-client.js';
import type {DhtPresence} from './dht-presence.js';
import type {Membership} from './membership.js';
import {notices} from './notices.js';

export class HolderLookup {
	readonly #tracker: TrackerClient;
	readonly #membership: Membership;
	readonly #notice: (message: string) => void;
	/** Last Find answer per file: used while the tracker is down. */
	readonly #lastKnown = new Map<string, FindReply>();

	/** The peer's DHT presence, once it runs; and whether no tracker is used at all. */
	readonly #dht: () => DhtPresence | undefined;
	readonly #trackerless: boolean;

	constructor(tracker: TrackerClient, membership: Membership, notice: (message: string) => void, {dht = () => undefined, trackerless = false}: {dht?: () => DhtPresence | undefined; trackerless?: boolean} = {}) {
		this.#tracker = tracker;
		this.#membership = membership;
		this.#notice = notice;
		this.#dht = dht;
		this.#trackerless = trackerless;
	}

	/** The holders of a name (with `md5`, of exactly that content): the tracker, or the DHT without one or while it is down. */
	async locate(name: string, md5?: string): Promise<{reply: FindReply; stale: boolean; via?: 'dht'}> {
		const dht = this.#dht();
		if (this.#trackerless) {
			if (!dht) {
				throw new XfsError('NOT_FOUND', `the DHT node is not running yet: ${name} cannot be looked up`);
			}

			return {reply: exactly(await dht.find(name), md5), stale: false, via: 'dht'};
		}

		if (dht) {
			const viaDht = await this.#trackerFirst(name, dht, md5);
			if (viaDht) {
				return viaDht;
			}
		}

		return this.#fromTracker(name, md5);
	}

	/**
	 * The tracker without waiting; while it is down (the link says so, or this call found it so),
	 * the DHT at once. Undefined when the tracker is down and the DHT knows nothing either: the
	 * usual wait for the tracker follows.
	 */
	async #trackerFirst(name: string, dht: DhtPresence, md5?: string): Promise<{reply: FindReply; stale: boolean; via?: 'dht'} | undefined> {
		if (this.#membership.link.status.state !== 'waiting') {
			try {
				const reply = await this.#membership.withTracker(`find ${name}`, async retry => this.#tracker.find(name, retry, md5), 0);
				this.#lastKnown.set(md5 === undefined ? name : `${name}@${md5}`, reply);
				return {reply, stale: false};
			} catch (error) {
				// Any other answer (NOT_FOUND, warming up) is the tracker's to give, as without a DHT.
				if (!(error instanceof TrackerDownError)) {
					return undefined;
				}
			}
		}

		try {
			const reply = exactly(await dht.find(name), md5);
			this.#notice(notices.answeredByDht(name, reply.peers.length));
			return {reply, stale: false, via: 'dht'};
		} catch {
			return undefined;
		}
	}

	async #fromTracker(name: string, md5?: string): Promise<{reply: FindReply; stale: boolean}> {
		const {link} = this.#membership;
		const known = md5 === undefined ? name : `${name}@${md5}`;
		for (let attempt = 1; ; attempt++) {
			try {
				// A name found before does not wait for the tracker: its last known holders answer at once.
				const reply = await this.#membership.withTracker(`find ${known}`, async retry => this.#tracker.find(name, retry, md5), this.#lastKnown.has(known) ? 0 : undefined);
				this.#lastKnown.set(known, reply);
				return {reply, stale: false};
			} catch (error) {
				const cached = this.#lastKnown.get(known);
				if (error instanceof TrackerDownError && cached) {
					this.#notice(notices.staleHolders(name, cached.peers.map(peer => peer.id)));
					return {reply: cached, stale: true};
				}

				if (!(error instanceof XfsError && error.code === 'NOT_FOUND')) {
					throw error;
				}

				const settling = link.notFoundWait(Date.now());
				if (settling === undefined || this.#membership.stopping.aborted) {
					this.#lastKnown.delete(known);
					throw error;
				}

				const delay = Math.min(settling, backoffDelay(attempt, trackerBackoff));
				this.#notice(notices.notYetListed(name, Date.now() - link.backAt!, delay));
				await sleep(delay);
			}
		}
	}
}

/** A DHT answer (the holders' majority md5) for a download that asked for one content: that content or NOT_FOUND. */
function exactly(reply: FindReply, md5: string | undefined): FindReply {
	if (md5 !== undefined && reply.md5 !== md5) {
		throw new XfsError('NOT_FOUND', `no holder the DHT knows has ${reply.name} with md5 ${md5} (they have ${reply.md5})`);
	}

	return reply;
}
