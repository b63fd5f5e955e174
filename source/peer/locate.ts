/**
 * Find as a download and the find command need it: waits with back-off while the tracker is
 * down, serves the last known holders meanwhile, and asks again about a NOT_FOUND from a
 * tracker that came back less than a heartbeat ago (the other peers may not have re-sent yet).
 */
import {setTimeout as sleep} from 'node:timers/promises';
import {TrackerDownError, XfsError} from '../common/errors.js';
import type {FindReply} from '../common/wire.js';
import {backoffDelay, trackerBackoff} from '../core/retry-policy.js';
import type {TrackerClient} from '../clients/tracker-client.js';
import type {Membership} from './membership.js';
import {notices} from './notices.js';

export class HolderLookup {
	readonly #tracker: TrackerClient;
	readonly #membership: Membership;
	readonly #notice: (message: string) => void;
	/** Last Find answer per file: used while the tracker is down. */
	readonly #lastKnown = new Map<string, FindReply>();

	constructor(tracker: TrackerClient, membership: Membership, notice: (message: string) => void) {
		this.#tracker = tracker;
		this.#membership = membership;
		this.#notice = notice;
	}

	/** The holders of a name (with `md5`, of exactly that content). */
	async locate(name: string, md5?: string): Promise<{reply: FindReply; stale: boolean}> {
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
