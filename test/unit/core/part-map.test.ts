import test from 'ava';
import {decodePartMap, encodePartMap} from '../../../source/core/part-map.js';

test('a part map is a bitfield, high bit first, in base64', t => {
	// Parts 0 and 9 of 10: 0b10000000 0b01000000.
	t.is(encodePartMap([0, 9], 10), Buffer.from([0x80, 0x40]).toString('base64'));
	t.deepEqual([...decodePartMap(encodePartMap([0, 9], 10), 10)!], [0, 9]);
	t.is(encodePartMap([], 3), 'AA==');
	t.deepEqual(decodePartMap('AA==', 3), new Set());
	const many = Array.from({length: 1000}, (_, index) => index).filter(index => index % 3 === 0);
	t.deepEqual([...decodePartMap(encodePartMap(many, 1000), 1000)!], many);
});

test('a bitmap of the wrong length, with bits past the last part, or not base64 is refused', t => {
	t.is(decodePartMap(Buffer.from([0x80, 0x40]).toString('base64'), 20), undefined);
	// Part 9 of 9 parts does not exist.
	t.is(decodePartMap(Buffer.from([0x80, 0x40]).toString('base64'), 9), undefined);
	t.is(decodePartMap('not base64!', 8), undefined);
	t.is(decodePartMap('AA', 8), undefined);
});
