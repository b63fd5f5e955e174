import test from 'ava';
import {IdInUseError, ListVersionError, TrackerState} from '../../../tracker/tracker-state.js';

const md5a = 'a'.repeat(32);
const md5b = 'b'.repeat(32);
const url = (port: number) => `http://127.0.0.1:${port}`;

function state(ttlMs = 1000) {
	return new TrackerState({epoch: 'e1', ttlMs});
}

test('updateList replaces the whole list and Find answers exact names only', t => {
	const tracker = state();
	t.deepEqual(tracker.updateList('A', {url: url(1), files: [{name: 'x.txt', md5: md5a, size: 3}, {name: 'y.bin', md5: md5b, size: 9}]}, 0), {epoch: 'e1', ttlMs: 1000, version: 0});
	t.deepEqual(tracker.find('x.txt', 0), {name: 'x.txt', md5: md5a, size: 3, peers: [{id: 'A', url: url(1)}]});
	t.is(tracker.find('x', 0), undefined);
	tracker.updateList('A', {url: url(1), files: [{name: 'y.bin', md5: md5b, size: 9}]}, 10);
	t.is(tracker.find('x.txt', 10), undefined);
	t.is(tracker.fileCount, 1);
});

test('a name listed twice in one list keeps its last entry, and a later list or leave drops it whole', t => {
	const tracker = state();
	tracker.updateList('A', {url: url(1), files: [{name: 'x', md5: md5a, size: 1}, {name: 'y', md5: md5a, size: 2}, {name: 'x', md5: md5b, size: 3}]}, 0);
	t.deepEqual(tracker.find('x', 0), {name: 'x', md5: md5b, size: 3, peers: [{id: 'A', url: url(1)}]});
	t.deepEqual(tracker.peers(0).map(peer => peer.files), [2]);
	tracker.updateList('A', {url: url(1), files: [{name: 'y', md5: md5a, size: 2}]}, 1);
	t.is(tracker.find('x', 1), undefined);
	t.true(tracker.leave('A'));
	t.is(tracker.fileCount, 0);
});

test('Find lists holders sorted by id', t => {
	const tracker = state();
	for (const id of ['C', 'A', 'B']) {
		tracker.updateList(id, {url: url(id.charCodeAt(0)), files: [{name: 'f', md5: md5a, size: 1}]}, 0);
	}

	t.deepEqual(tracker.find('f', 0)?.peers.map(peer => peer.id), ['A', 'B', 'C']);
});

test('holders that disagree: Find returns the majority md5 and only its holders', t => {
	const tracker = state();
	tracker.updateList('A', {url: url(1), files: [{name: 'f', md5: md5a, size: 1}]}, 0);
	tracker.updateList('B', {url: url(2), files: [{name: 'f', md5: md5b, size: 1}]}, 0);
	tracker.updateList('C', {url: url(3), files: [{name: 'f', md5: md5b, size: 1}]}, 0);
	t.deepEqual(tracker.find('f', 0), {name: 'f', md5: md5b, size: 1, peers: [{id: 'B', url: url(2)}, {id: 'C', url: url(3)}]});
	t.deepEqual(tracker.files(0), [{name: 'f', md5: md5b, size: 1, holders: 2}]);
});

test('a tie between md5s goes to the smaller md5', t => {
	const tracker = state();
	tracker.updateList('A', {url: url(1), files: [{name: 'f', md5: md5b, size: 1}]}, 0);
	tracker.updateList('B', {url: url(2), files: [{name: 'f', md5: md5a, size: 1}]}, 0);
	t.is(tracker.find('f', 0)?.md5, md5a);
});

test('heartbeat keeps a peer alive; silence past ttl expires it; a forgotten peer is told known:false', t => {
	const tracker = state(1000);
	tracker.updateList('A', {url: url(1), files: [{name: 'f', md5: md5a, size: 1}]}, 0);
	t.deepEqual(tracker.heartbeat('A', 900), {epoch: 'e1', known: true});
	t.truthy(tracker.find('f', 1800));
	t.is(tracker.find('f', 1901), undefined);
	t.deepEqual(tracker.heartbeat('A', 1901), {epoch: 'e1', known: false});
	t.is(tracker.peerCount, 0);
	t.deepEqual(tracker.heartbeat('nobody', 0), {epoch: 'e1', known: false});
});

test('expire drops silent peers and their files', t => {
	const tracker = state(100);
	tracker.updateList('A', {url: url(1), files: [{name: 'f', md5: md5a, size: 1}]}, 0);
	tracker.updateList('B', {url: url(2), files: [{name: 'g', md5: md5a, size: 1}]}, 150);
	t.deepEqual(tracker.expire(150), ['A']);
	t.deepEqual(tracker.files(150).map(file => file.name), ['g']);
	t.deepEqual(tracker.peers(150).map(peer => peer.id), ['B']);
});

test('leave removes the peer; a second leave reports false', t => {
	const tracker = state();
	tracker.updateList('A', {url: url(1), files: [{name: 'f', md5: md5a, size: 1}]}, 0);
	t.true(tracker.leave('A'));
	t.false(tracker.leave('A'));
	t.is(tracker.find('f', 0), undefined);
});

test('an id held by a live peer at another URL is refused; the same URL or an expired holder may take it', t => {
	const tracker = state(1000);
	tracker.updateList('A', {url: url(1), files: []}, 0);
	const error = t.throws(() => tracker.updateList('A', {url: url(2), files: []}, 10), {instanceOf: IdInUseError});
	t.is(error?.code, 'ID_IN_USE');
	t.is(tracker.urlOf('A', 10), url(1));
	t.notThrows(() => tracker.updateList('A', {url: url(1), files: []}, 20));
	t.notThrows(() => tracker.updateList('A', {url: url(2), files: []}, 2000));
	t.is(tracker.urlOf('A', 2000), url(2));
});

test('peers reports file counts and how long ago each was seen', t => {
	const tracker = state();
	tracker.updateList('A', {url: url(1), files: [{name: 'f', md5: md5a, size: 1}, {name: 'g', md5: md5a, size: 1}]}, 100);
	t.deepEqual(tracker.peers(350), [{id: 'A', url: url(1), files: 2, lastSeenMsAgo: 250}]);
});

test('maxPeersPerFind bounds a Find reply', t => {
	const tracker = new TrackerState({epoch: 'e', ttlMs: 1000, maxPeersPerFind: 2});
	for (const id of ['A', 'B', 'C']) {
		tracker.updateList(id, {url: url(id.charCodeAt(0)), files: [{name: 'f', md5: md5a, size: 1}]}, 0);
	}

	t.deepEqual(tracker.find('f', 0)?.peers.map(peer => peer.id), ['A', 'B']);
});

test('an incremental update from the held version adds, replaces and removes entries; Find follows at once', t => {
	const tracker = new TrackerState({epoch: 'e1', ttlMs: 1000});
	tracker.updateList('A', {url: url(1), files: [{name: 'x', md5: md5a, size: 1}], version: 3}, 0);
	t.deepEqual(tracker.findBody('x', 0), JSON.stringify({name: 'x', md5: md5a, size: 1, peers: [{id: 'A', url: url(1)}]}));
	t.deepEqual(tracker.updateFiles('A', {from: 3, to: 4, add: [{name: 'x', md5: md5b, size: 2}, {name: 'y', md5: md5a, size: 5}], remove: []}, 10), {epoch: 'e1', version: 4});
	// The cached Find reply of x is dropped with the change.
	t.like(tracker.find('x', 10), {md5: md5b, size: 2});
	t.deepEqual(tracker.updateFiles('A', {from: 4, to: 5, add: [], remove: ['x', 'never-listed']}, 20), {epoch: 'e1', version: 5});
	t.is(tracker.find('x', 20), undefined);
	t.is(tracker.findBody('x', 20), undefined);
	t.deepEqual(tracker.files(20).map(file => file.name), ['y']);
	t.deepEqual(tracker.peers(20).map(peer => peer.files), [1]);
	const error = t.throws(() => tracker.updateFiles('A', {from: 4, to: 5, add: [], remove: ['y']}, 30), {instanceOf: ListVersionError});
	t.is(error.version, 5);
	t.throws(() => tracker.updateFiles('A', {from: 5, to: 6, add: [], remove: []}, 2000), {instanceOf: ListVersionError}, 'an expired peer sends its whole list');
	t.throws(() => tracker.updateFiles('B', {from: 0, to: 1, add: [], remove: []}, 30), {instanceOf: ListVersionError});
});

test('pinned entries: Find and the files list carry r and the holders that keep the file pinned; an incremental update moves them', t => {
	const tracker = state();
	tracker.updateList('A', {url: url(1), files: [{name: 'p', md5: md5a, size: 4, pinned: 3}]}, 0);
	tracker.updateList('B', {url: url(2), files: [{name: 'p', md5: md5a, size: 4}]}, 0);
	tracker.updateList('C', {url: url(3), files: [{name: 'p', md5: md5a, size: 4, pinned: 3}]}, 0);
	const expected = {name: 'p', md5: md5a, size: 4, peers: [{id: 'A', url: url(1)}, {id: 'B', url: url(2)}, {id: 'C', url: url(3)}], pinned: 3, copies: ['A', 'C']};
	t.deepEqual(tracker.find('p', 0), expected);
	t.deepEqual(JSON.parse(tracker.findBody('p', 0)!), expected);
	t.deepEqual(tracker.files(0), [{name: 'p', md5: md5a, size: 4, holders: 3, pinned: 3, copies: 2}]);
	tracker.updateFiles('B', {from: 0, to: 1, add: [{name: 'p', md5: md5a, size: 4, pinned: 3}], remove: []}, 1);
	t.deepEqual(JSON.parse(tracker.findBody('p', 1)!).copies, ['A', 'B', 'C']);
	tracker.updateFiles('A', {from: 0, to: 1, add: [{name: 'p', md5: md5a, size: 4}], remove: []}, 2);
	t.deepEqual(tracker.find('p', 2)?.copies, ['B', 'C']);
	tracker.leave('A');
	tracker.updateList('B', {url: url(2), files: []}, 3);
	tracker.updateList('C', {url: url(3), files: [{name: 'p', md5: md5a, size: 4}]}, 3);
	t.deepEqual(tracker.find('p', 3), {name: 'p', md5: md5a, size: 4, peers: [{id: 'C', url: url(3)}]});
});

test('incremental updates cannot grow a peer past the files limit; a refused update changes nothing', t => {
	const tracker = new TrackerState({epoch: 'e1', ttlMs: 1000, maxFilesPerPeer: 2});
	tracker.updateList('A', {url: url(1), files: [{name: 'x', md5: md5a, size: 1}], version: 1}, 0);
	t.deepEqual(tracker.updateFiles('A', {from: 1, to: 2, add: [{name: 'y', md5: md5a, size: 1}], remove: []}, 1), {epoch: 'e1', version: 2});
	const error = t.throws(() => tracker.updateFiles('A', {from: 2, to: 3, add: [{name: 'z', md5: md5a, size: 1}], remove: []}, 2));
	t.like(error, {code: 'TOO_LARGE'});
	t.deepEqual(tracker.files(2).map(file => file.name), ['x', 'y']);
	t.is(tracker.find('z', 2), undefined);
	// Replacing a listed entry, or one removed and added in the same update, keeps the count.
	t.deepEqual(tracker.updateFiles('A', {from: 2, to: 3, add: [{name: 'y', md5: md5b, size: 2}, {name: 'z', md5: md5a, size: 1}], remove: ['x']}, 3), {epoch: 'e1', version: 3});
	t.deepEqual(tracker.files(3).map(file => file.name), ['y', 'z']);
});
