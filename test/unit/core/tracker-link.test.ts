import test from 'ava';
import {rejoinReason, TrackerLink} from '../../../source/core/tracker-link.js';

const heartbeatMs = 1000;

test('connecting until the first list is accepted, then connected; a later epoch is a restart', t => {
	const link = new TrackerLink({heartbeatMs});
	t.deepEqual(link.status, {state: 'connecting'});
	t.false(link.registered);
	t.true(link.listAccepted('e1', 0));
	t.deepEqual(link.status, {state: 'connected', epoch: 'e1'});
	t.true(link.registered);
	t.false(link.listAccepted('e1', 10), 'the same state again is no change');
	t.true(link.listAccepted('e2', 20));
	t.deepEqual(link.status, {state: 'restarted', epoch: 'e2'});
	// A NOT_FOUND from a tracker that restarted at 20 is provisional until one heartbeat later.
	t.is(link.notFoundWait(520), 500);
	t.is(link.notFoundWait(1020), undefined);
});

test('a heartbeat known under the same epoch is all well; anything else sends the whole list', t => {
	const link = new TrackerLink({heartbeatMs});
	link.listAccepted('e1', 0);
	t.deepEqual(link.beat({epoch: 'e1', known: true}, 100), {action: 'none', changed: false});
	t.deepEqual(link.beat({epoch: 'e1', known: false}, 200), {action: 'send-list', changed: false});
	t.deepEqual(link.beat({epoch: 'e2', known: true}, 300), {action: 'send-list', changed: false});
	t.deepEqual(link.beat(undefined, 400), {action: 'send-list', changed: false});
});

test('the loop backs off while the tracker is down, says so once per step, and counts as unregistered', t => {
	const link = new TrackerLink({heartbeatMs: 5000});
	link.listAccepted('e1', 0);
	const steps = [1, 2, 3, 4, 5, 6, 7].map(failures => link.loopFailed(failures, 1000));
	t.deepEqual(steps.map(step => step.retryInMs), [250, 500, 1000, 2000, 4000, 5000, 5000]);
	t.deepEqual(steps.map(step => step.say), [true, true, true, true, true, true, false]);
	t.deepEqual(steps.map(step => step.changed), [true, true, true, true, true, true, true]);
	t.like(link.status, {state: 'waiting', retryAt: 6000, reason: 'tracker down'});
	t.false(link.registered);
	t.is(link.nextBeatIn(0), 5000);
	t.is(link.nextBeatIn(2), 500);
});

test('a call that gets through after an outage makes NOT_FOUND provisional until a heartbeat says the epoch is the same', t => {
	const link = new TrackerLink({heartbeatMs});
	link.listAccepted('e1', 0);
	t.is(link.notFoundWait(100), undefined);
	t.true(link.callFailed(600));
	t.like(link.status, {state: 'waiting'});
	link.reached(700);
	t.is(link.backAt, 700);
	t.is(link.notFoundWait(800), 900);
	// The heartbeat finds the same epoch: the tracker did not restart, its answers stand.
	t.deepEqual(link.beat({epoch: 'e1', known: true}, 900), {action: 'none', changed: true});
	t.deepEqual(link.status, {state: 'connected', epoch: 'e1'});
	t.is(link.notFoundWait(950), undefined);
});

test('an UpdateList lost to a tracker that is down must go again', t => {
	const link = new TrackerLink({heartbeatMs});
	link.listAccepted('e1', 0);
	link.listLost();
	t.false(link.registered);
});

test('why the list went again: a new epoch, a tracker that had dropped us, or a tracker back', t => {
	t.is(rejoinReason('e1', 'e2', true), 'restarted');
	t.is(rejoinReason('e1', 'e2', undefined), 'restarted');
	t.is(rejoinReason('e1', 'e1', false), 'dropped');
	t.is(rejoinReason('e1', 'e1', undefined), 'back');
	t.is(rejoinReason(undefined, 'e1', undefined), 'back');
});
