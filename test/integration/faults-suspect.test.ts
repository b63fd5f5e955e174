import test from 'ava';
import {TrackerState} from '../../tracker/tracker-state.js';

const song = {name: 'song.mp3', md5: 'd08e392ca9da2b83784f74b956b818de', size: 1_536_000};

function stateWithA(lastSeen: number): TrackerState {
	const state = new TrackerState({epoch: 'e1', ttlMs: 15_000});
	state.updateList('A', {url: 'http://127.0.0.1:7001', files: [song]}, lastSeen);
	return state;
}

test('a reported peer not heard from since the check began is dropped with its files', t => {
	const state = stateWithA(1000);
	t.true(state.dropIfSilentSince('A', 2000));
	t.false(state.has('A', 2000));
	t.is(state.find('song.mp3', 2000), undefined);
});

test('a reported peer that heartbeated or re-registered since the check began is kept', t => {
	const beat = stateWithA(1000);
	beat.heartbeat('A', 2500);
	t.false(beat.dropIfSilentSince('A', 2000));
	t.deepEqual(beat.find('song.mp3', 2500)?.peers, [{id: 'A', url: 'http://127.0.0.1:7001'}]);

	const rejoined = stateWithA(1000);
	rejoined.updateList('A', {url: 'http://127.0.0.1:7001', files: [song]}, 2000);
	t.false(rejoined.dropIfSilentSince('A', 2000));
	t.true(rejoined.has('A', 2000));
});

test('a report about a peer the tracker does not know drops nothing', t => {
	const state = stateWithA(1000);
	t.false(state.dropIfSilentSince('B', 2000));
	t.true(state.has('A', 2000));
});
