import test from 'ava';
import {ListVersionError, TrackerState} from '../../../tracker/tracker-state.js';
import {parsePartialBody} from '../../../source/common/wire.js';

const md5a = 'a'.repeat(32);
const md5b = 'b'.repeat(32);
const url = (port: number) => `http://127.0.0.1:${port}`;

function network() {
	const tracker = new TrackerState({epoch: 'e1', ttlMs: 1000});
	tracker.updateList('S', {url: url(1), files: [{name: 'f', md5: md5a, size: 100}]}, 0);
	tracker.updateList('D', {url: url(2), files: []}, 0);
	tracker.updateList('E', {url: url(3), files: []}, 0);
	return tracker;
}

test('Find lists peers still downloading the same version beside the holders, in the cached body too', t => {
	const tracker = network();
	tracker.setPartial('E', [{name: 'f', md5: md5a, size: 100, have: 1, of: 4}], 1);
	tracker.setPartial('D', [{name: 'f', md5: md5a, size: 100, have: 3, of: 4}, {name: 'g', md5: md5b, size: 1, have: 1, of: 1}], 1);
	const expected = {name: 'f', md5: md5a, size: 100, peers: [{id: 'S', url: url(1)}], partial: [{id: 'D', url: url(2), have: 3, of: 4}, {id: 'E', url: url(3), have: 1, of: 4}]};
	t.deepEqual(tracker.find('f', 2), expected);
	t.deepEqual(JSON.parse(tracker.findBody('f', 2)!), expected);
	// No holder of g: a partial holder alone does not make a name findable.
	t.is(tracker.find('g', 2), undefined);
});

test('a new partial list replaces the last one; an empty one, a leave or an expiry drops it; the cached Find follows', t => {
	const tracker = network();
	tracker.setPartial('D', [{name: 'f', md5: md5a, size: 100, have: 1, of: 4}], 1);
	t.is(JSON.parse(tracker.findBody('f', 1)!).partial[0].have, 1);
	tracker.setPartial('D', [{name: 'f', md5: md5a, size: 100, have: 2, of: 4}], 2);
	t.is(JSON.parse(tracker.findBody('f', 2)!).partial[0].have, 2);
	tracker.setPartial('D', [], 3);
	t.is(JSON.parse(tracker.findBody('f', 3)!).partial, undefined);
	tracker.setPartial('E', [{name: 'f', md5: md5a, size: 100, have: 2, of: 4}], 3);
	tracker.leave('E');
	t.is(tracker.find('f', 4)?.partial, undefined);
	tracker.setPartial('D', [{name: 'f', md5: md5a, size: 100, have: 2, of: 4}], 4);
	tracker.heartbeat('S', 900);
	t.is(tracker.find('f', 1004)?.partial?.length, 1);
	t.is(tracker.find('f', 1006)?.partial, undefined);
});

test('a partial entry of another version, or of a peer that holds the file whole, is not listed; an unknown peer is told to send its list', t => {
	const tracker = network();
	tracker.setPartial('D', [{name: 'f', md5: md5b, size: 100, have: 1, of: 4}], 1);
	t.is(tracker.find('f', 1)?.partial, undefined);
	tracker.setPartial('E', [{name: 'f', md5: md5a, size: 100, have: 4, of: 4}], 1);
	tracker.updateFiles('E', {from: 0, to: 1, add: [{name: 'f', md5: md5a, size: 100}], remove: []}, 2);
	t.deepEqual(tracker.find('f', 2)?.peers.map(peer => peer.id), ['E', 'S']);
	t.is(tracker.find('f', 2)?.partial, undefined);
	t.throws(() => tracker.setPartial('X', [], 2), {instanceOf: ListVersionError});
});

test('the partial body is checked: have within of, a name once, at most 64 files', t => {
	t.deepEqual(parsePartialBody({files: [{name: 'f', md5: md5a, size: 5, have: 1, of: 2}]}), {files: [{name: 'f', md5: md5a, size: 5, have: 1, of: 2}]});
	t.throws(() => parsePartialBody({files: [{name: 'f', md5: md5a, size: 5, have: 3, of: 2}]}), {code: 'BAD_INPUT'});
	t.throws(() => parsePartialBody({files: [{name: 'f', md5: md5a, size: 5, have: 0, of: 0}]}), {code: 'BAD_INPUT'});
	t.throws(() => parsePartialBody({files: [{name: 'f', md5: md5a, size: 5, have: 1, of: 2}, {name: 'f', md5: md5a, size: 5, have: 1, of: 2}]}), {code: 'BAD_INPUT'});
	t.throws(() => parsePartialBody({files: Array.from({length: 65}, (_, index) => ({name: `f${index}`, md5: md5a, size: 5, have: 1, of: 2}))}), {code: 'TOO_LARGE'});
	t.throws(() => parsePartialBody({files: 'all'}), {code: 'BAD_INPUT'});
});
