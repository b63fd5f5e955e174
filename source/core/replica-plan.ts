/**
 * Who does what for a pinned file (pure): the coordinator is the holder of a verified pinned
 * copy closest to the name, and it alone asks the placement peers that lack a copy; a holder
 * releases its copy once r holders closer to the name than itself have one.
 */
import {distanceTo, placementFor, rankByDistance} from './placement.js';

export type ReplicaView = {
	name: string;
	r: number;
	/** This peer's machID. */
	me: string;
	/** The live peers (from the tracker or the DHT), this one included when it is live. */
	live: readonly string[];
	/** Live peers that advertise a pinned copy of the version kept (Find's `copies`). */
	copies: readonly string[];
	/** Whether this peer holds that version (pinned or as its own file). */
	iHold: boolean;
	/** Peers that refused this file lately. */
	refused?: ReadonlySet<string>;
};

export type RepairPlan = {
	/** Whether this peer coordinates the file now. */
	coordinator: boolean;
	/** Where the file belongs: the r closest live peers that did not refuse. */
	placement: string[];
	/** Placement peers without a copy, closest first (this peer included when it must pin its own copy). */
	missing: string[];
	/** Fewer copies than r (or than the live peers, when there are fewer). */
	below: boolean;
};

/** The holder that coordinates: of the live copies, and this peer when it holds the file, the closest to the name. */
export function coordinatorOf(view: Pick<ReplicaView, 'name' | 'me' | 'copies' | 'iHold' | 'live'>): string | undefined {
	const live = new Set(view.live);
	const candidates = view.copies.filter(id => live.has(id));
	if (view.iHold) {
		candidates.push(view.me);
	}

	return rankByDistance(view.name, candidates)[0];
}

export function planRepair(view: ReplicaView): RepairPlan {
	const placement = placementFor(view.name, view.live, view.r, {refused: view.refused});
	const live = new Set(view.live);
	const copies = new Set(view.copies.filter(id => live.has(id)));
	return {
		coordinator: coordinatorOf(view) === view.me,
		placement,
		missing: placement.filter(id => !copies.has(id)),
		below: copies.size < Math.min(view.r, view.live.length),
	};
}

/**
 * A holder outside the placement lets its copy go only when r other live copies are closer to the
 * name than it is: the closest r holders keep theirs, so releases never take the count below r.
 */
export function shouldRelease(view: Pick<ReplicaView, 'name' | 'me' | 'copies' | 'live' | 'r'>): boolean {
	const mine = distanceTo(view.name, view.me);
	const live = new Set(view.live);
	const closer = view.copies.filter(id => id !== view.me && live.has(id) && distanceTo(view.name, id) < mine);
	return closer.length >= view.r;
}
