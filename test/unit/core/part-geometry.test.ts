import test from 'ava';
import {addSpan, partCount, partSpan, partsWithin} from '../../../source/core/part-geometry.js';

const kib = 1024;

test('parts cut a file into fixed spans, the last one short', t => {
	t.is(partCount(10 * kib, 4 * kib), 3);
	t.is(partCount(8 * kib, 4 * kib), 2);
	t.is(partCount(0, 4 * kib), 0);
	t.deepEqual(partSpan(0, 10 * kib, 4 * kib), {start: 0, end: 4 * kib});
	t.deepEqual(partSpan(2, 10 * kib, 4 * kib), {start: 8 * kib, end: 10 * kib});
});

test('verified spans merge and tell which parts can be reused', t => {
	let spans = addSpan([], {start: 8, end: 12});
	spans = addSpan(spans, {start: 0, end: 4});
	t.deepEqual(spans, [{start: 0, end: 4}, {start: 8, end: 12}]);
	spans = addSpan(spans, {start: 4, end: 8});
	t.deepEqual(spans, [{start: 0, end: 12}]);
	t.deepEqual(partsWithin([{start: 0, end: 8}, {start: 12, end: 14}], 14, 4), [0, 1, 3]);
	t.deepEqual(partsWithin([{start: 0, end: 6}], 14, 4), [0]);
	t.deepEqual(partsWithin([{start: 0, end: 8}, {start: 12, end: 14}], 14, 2), [0, 1, 2, 3, 6]);
});

