import test from 'ava';
import fc from 'fast-check';
import {TrackerState} from '../../../tracker/tracker-state.js';

const md5A = 'a'.repeat(32);
const md5B = 'b'.repeat(32);
const ttlMs = 1000;

function stateWithTwoHolders(): TrackerState {
	const state = new TrackerState({epoch: 'e', ttlMs});
	state.updateList('p1', {url: 'http://127.0.0.1:1001', files: [{name: 'x.bin', md5: md5A, size: 10}]}, 0);
	state.updateList('p2', {url: 'http://127.0.0.1:1002', files: [{name: 'x.bin', md5: md5A, size: 10}]}, 100);
	return state;
}

const idsIn = (body: string | undefined) => (JSON.parse(body!) as {peers: Array<{id: string}>}).peers.map(peer => peer.id);

test('the cached Find JSON is the Find reply', t => {
	const state = stateWithTwoHolders();
	t.deepEqual(JSON.parse(state.findBody('x.bin', 200)!), state.find('x.bin', 200));
	t.is(state.findBody('x.bin', 200), state.findBody('x.bin', 300));
	t.is(state.findBody('missing.bin', 200), undefined);
});

test('a new UpdateList, a leave or a changed md5 is seen by the next Find', t => {
	const state = stateWithTwoHolders();
	t.deepEqual(idsIn(state.findBody('x.bin', 200)), ['p1', 'p2']);
	state.updateList('p3', {url: 'http://127.0.0.1:1003', files: [{name: 'x.bin', md5: md5A, size: 10}]}, 200);
	t.deepEqual(idsIn(state.findBody('x.bin', 200)), ['p1', 'p2', 'p3']);
	state.leave('p2');
	t.deepEqual(idsIn(state.findBody('x.bin', 200)), ['p1', 'p3']);
	state.updateList('p1', {url: 'http://127.0.0.1:1001', files: [{name: 'x.bin', md5: md5B, size: 10}]}, 200);
	state.updateList('p4', {url: 'http://127.0.0.1:1004', files: [{name: 'x.bin', md5: md5B, size: 10}]}, 200);
	const reply = JSON.parse(state.findBody('x.bin', 200)!) as {md5: string};
	t.is(reply.md5, md5B);
	t.deepEqual(idsIn(state.findBody('x.bin', 200)), ['p1', 'p4']);
	state.updateList('p1', {url: 'http://127.0.0.1:1001', files: []}, 200);
	state.leave('p4');
	t.deepEqual(idsIn(state.findBody('x.bin', 200)), ['p3']);
	state.leave('p3');
	t.is(state.findBody('x.bin', 200), undefined);
});

test('a holder past its TTL drops out of a cached reply even before the sweep; a heartbeat keeps it', t => {
	const state = stateWithTwoHolders();
	t.deepEqual(idsIn(state.findBody('x.bin', 500)), ['p1', 'p2']);
	t.deepEqual(state.heartbeat('p2', 900), {epoch: 'e', known: true});
	// p1 was last seen at 0: gone after 1000 ms without any expire() call.
	t.deepEqual(idsIn(state.findBody('x.bin', 1001)), ['p2']);
	t.deepEqual(idsIn(state.findBody('x.bin', 1900)), ['p2']);
	t.is(state.findBody('x.bin', 1901), undefined);
});

test('the cache holds at most findCacheSize names and still answers the others', t => {
	const state = new TrackerState({epoch: 'e', ttlMs, findCacheSize: 2});
	const files = ['a', 'b', 'c', 'd'].map(name => ({name: `${name}.bin`, md5: md5A, size: 1}));
	state.updateList('p1', {url: 'http://127.0.0.1:1001', files}, 0);
	for (const round of [1, 2]) {
		for (const {name} of files) {
			t.deepEqual(JSON.parse(state.findBody(name, round)!), {name, md5: md5A, size: 1, peers: [{id: 'p1', url: 'http://127.0.0.1:1001'}]});
		}
	}
});

/** What Find should answer, computed the slow way from every peer's last list and last contact. */
function expectedFind(peers: Map<string, {url: string; md5: string; seen: number}>, now: number) {
	const live = [...peers].filter(([, peer]) => now - peer.seen <= ttlMs);
	const counts = new Map<string, number>();
	for (const [, {md5}] of live) {
		counts.set(md5, (counts.get(md5) ?? 0) + 1);
	}

	const [md5] = [...counts].sort(([md5A, countA], [md5B, countB]) => countB - countA || (md5A < md5B ? -1 : 1))[0] ?? [];
	if (md5 === undefined) {
		return undefined;
	}

	const holders = live.filter(([, peer]) => peer.md5 === md5).map(([id, {url}]) => ({id, url})).sort((a, b) => (a.id < b.id ? -1 : 1));
	return {name: 'x.bin', md5, size: md5.charCodeAt(0), peers: holders};
}

test('Find, cached or not, agrees with a slow reference over any history of lists, leaves and heartbeats', t => {
	const step = fc.record({
		kind: fc.constantFrom('list', 'list', 'leave', 'heartbeat', 'find'),
		peer: fc.integer({min: 1, max: 6}),
		md5: fc.constantFrom(md5A, md5B, 'c'.repeat(32)),
		advance: fc.integer({min: 0, max: 600}),
	});
	fc.assert(fc.property(fc.array(step, {maxLength: 40}), steps => {
		const state = new TrackerState({epoch: 'e', ttlMs});
		const model = new Map<string, {url: string; md5: string; seen: number}>();
		let now = 0;
		for (const {kind, peer, md5, advance} of steps) {
			now += advance;
			const id = `p${peer}`;
			const url = `http://127.0.0.1:${1000 + peer}`;
			switch (kind) {
				case 'list': {
					state.updateList(id, {url, files: [{name: 'x.bin', md5, size: md5.charCodeAt(0)}]}, now);
					model.set(id, {url, md5, seen: now});
					break;
				}

				case 'leave': {
					state.leave(id);
					model.delete(id);
					break;
				}

				case 'heartbeat': {
					if (state.heartbeat(id, now).known) {
						model.get(id)!.seen = now;
					} else {
						model.delete(id);
					}

					break;
				}

				case 'find': {
					// Every step checks Find below.
					break;
				}
			}

			const expected = expectedFind(model, now);
			const body = state.findBody('x.bin', now);
			t.deepEqual(body && JSON.parse(body.toString()), expected);
			t.deepEqual(state.find('x.bin', now), expected);
		}
	}));
});
