import test from 'ava';
import {TrackerState} from '../tracker/tracker-state.js';

const md5A = 'a'.repeat(32);
const md5B = 'b'.repeat(32);
const ttlMs = 1000;

function stateWithTwoHolders(): TrackerState {
	const state = new TrackerState({epoch: 'e', ttlMs});
	state.updateList('p1', {url: 'http://127.0.0.1:1001', files: [{name: 'x.bin', md5: md5A, size: 10}]}, 0);
	state.updateList('p2', {url: 'http://127.0.0.1:1002', files: [{name: 'x.bin', md5: md5A, size: 10}]}, 100);
	return state;
}

const idsIn = (json: string | undefined) => (JSON.parse(json!) as {peers: Array<{id: string}>}).peers.map(peer => peer.id);

test('the cached Find JSON is the Find reply', t => {
	const state = stateWithTwoHolders();
	t.deepEqual(JSON.parse(state.findJson('x.bin', 200)!), state.find('x.bin', 200));
	t.is(state.findJson('x.bin', 200), state.findJson('x.bin', 300));
	t.is(state.findJson('missing.bin', 200), undefined);
});

test('a new UpdateList, a leave or a changed md5 is seen by the next Find', t => {
	const state = stateWithTwoHolders();
	t.deepEqual(idsIn(state.findJson('x.bin', 200)), ['p1', 'p2']);
	state.updateList('p3', {url: 'http://127.0.0.1:1003', files: [{name: 'x.bin', md5: md5A, size: 10}]}, 200);
	t.deepEqual(idsIn(state.findJson('x.bin', 200)), ['p1', 'p2', 'p3']);
	state.leave('p2');
	t.deepEqual(idsIn(state.findJson('x.bin', 200)), ['p1', 'p3']);
	state.updateList('p1', {url: 'http://127.0.0.1:1001', files: [{name: 'x.bin', md5: md5B, size: 10}]}, 200);
	state.updateList('p4', {url: 'http://127.0.0.1:1004', files: [{name: 'x.bin', md5: md5B, size: 10}]}, 200);
	const reply = JSON.parse(state.findJson('x.bin', 200)!) as {md5: string};
	t.is(reply.md5, md5B);
	t.deepEqual(idsIn(state.findJson('x.bin', 200)), ['p1', 'p4']);
	state.updateList('p1', {url: 'http://127.0.0.1:1001', files: []}, 200);
	state.leave('p4');
	t.deepEqual(idsIn(state.findJson('x.bin', 200)), ['p3']);
	state.leave('p3');
	t.is(state.findJson('x.bin', 200), undefined);
});

test('a holder past its TTL drops out of a cached reply even before the sweep; a heartbeat keeps it', t => {
	const state = stateWithTwoHolders();
	t.deepEqual(idsIn(state.findJson('x.bin', 500)), ['p1', 'p2']);
	t.deepEqual(state.heartbeat('p2', 900), {epoch: 'e', known: true});
	// p1 was last seen at 0: gone after 1000 ms without any expire() call.
	t.deepEqual(idsIn(state.findJson('x.bin', 1001)), ['p2']);
	t.deepEqual(idsIn(state.findJson('x.bin', 1900)), ['p2']);
	t.is(state.findJson('x.bin', 1901), undefined);
});

test('the cache holds at most findCacheSize names and still answers the others', t => {
	const state = new TrackerState({epoch: 'e', ttlMs, findCacheSize: 2});
	const files = ['a', 'b', 'c', 'd'].map(name => ({name: `${name}.bin`, md5: md5A, size: 1}));
	state.updateList('p1', {url: 'http://127.0.0.1:1001', files}, 0);
	for (const round of [1, 2]) {
		for (const {name} of files) {
			t.deepEqual(JSON.parse(state.findJson(name, round)!), {name, md5: md5A, size: 1, peers: [{id: 'p1', url: 'http://127.0.0.1:1001'}]});
		}
	}
});
