import test from 'ava';
import {coordinatorOf, planRepair, shouldRelease} from '../../../source/core/replica-plan.js';

// By XOR distance to notes.txt: P4, P1, P5, P2, P6, P3 (see placement.test.ts for the metric).
const live = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6'];

test('the coordinator is the live holder closest to the name; a dead one does not count', t => {
	t.is(coordinatorOf({name: 'notes.txt', me: 'P5', copies: ['P1', 'P4', 'P5'], iHold: true, live}), 'P4');
	t.is(coordinatorOf({name: 'notes.txt', me: 'P5', copies: ['P1', 'P4', 'P5'], iHold: true, live: ['P2', 'P3', 'P5', 'P6']}), 'P5');
	// The owner counts when it holds the file, even with no copy pinned.
	t.is(coordinatorOf({name: 'notes.txt', me: 'P3', copies: [], iHold: true, live}), 'P3');
	t.is(coordinatorOf({name: 'notes.txt', me: 'P3', copies: [], iHold: false, live}), undefined);
});

test('a repair plan: after 2 of 3 holders died the survivor coordinates and asks the next closest', t => {
	const plan = planRepair({name: 'notes.txt', r: 3, me: 'P5', live: ['P2', 'P3', 'P5', 'P6'], copies: ['P1', 'P4', 'P5'], iHold: true});
	t.deepEqual(plan, {coordinator: true, placement: ['P5', 'P2', 'P6'], missing: ['P2', 'P6'], below: true});
	const refused = planRepair({name: 'notes.txt', r: 3, me: 'P5', live: ['P2', 'P3', 'P5', 'P6'], copies: ['P5'], iHold: true, refused: new Set(['P2'])});
	t.deepEqual(refused.missing, ['P6', 'P3']);
	t.deepEqual(planRepair({name: 'notes.txt', r: 3, me: 'P1', live, copies: ['P1', 'P4', 'P5'], iHold: true}), {coordinator: false, placement: ['P4', 'P1', 'P5'], missing: [], below: false});
});

test('a holder releases only once r live copies closer to the name than itself exist', t => {
	t.true(shouldRelease({name: 'notes.txt', me: 'P6', copies: ['P2', 'P5', 'P6', 'Q21'], live: ['P2', 'P5', 'P6', 'Q21'], r: 3}));
	t.false(shouldRelease({name: 'notes.txt', me: 'P6', copies: ['P2', 'P5', 'P6'], live: ['P2', 'P5', 'P6', 'Q21'], r: 3}));
	// A closer copy on a dead peer does not count.
	t.false(shouldRelease({name: 'notes.txt', me: 'P6', copies: ['P2', 'P5', 'P6', 'Q21'], live: ['P2', 'P5', 'P6'], r: 3}));
	t.false(shouldRelease({name: 'notes.txt', me: 'P4', copies: ['P1', 'P2', 'P4', 'P5', 'P6'], live, r: 3}));
});
