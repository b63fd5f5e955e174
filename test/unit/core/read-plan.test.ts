import test from 'ava';
import {partsCovering, ReadAhead} from '../../../source/core/read-plan.js';

const kib = 1024;
const mib = 1024 * kib;

test('the parts covering a read: none past the end, the last one short', t => {
	t.deepEqual(partsCovering(0, 4096, 10 * mib, 4 * mib), [0]);
	t.deepEqual(partsCovering((4 * mib) - 1, 2, 10 * mib, 4 * mib), [0, 1]);
	t.deepEqual(partsCovering(8 * mib, 128 * kib, 10 * mib, 4 * mib), [2]);
	t.deepEqual(partsCovering(10 * mib, 128 * kib, 10 * mib, 4 * mib), []);
	t.deepEqual(partsCovering(0, 0, 10 * mib, 4 * mib), []);
	t.deepEqual(partsCovering(0, 20 * mib, 10 * mib, 4 * mib), [0, 1, 2]);
	t.deepEqual(partsCovering(0, 1, 0, 4 * mib), []);
});

test('a reader from the start gets one part ahead, doubling as it moves into new parts, up to the window', t => {
	const ahead = new ReadAhead(100 * mib, 4 * mib, {maxWindowBytes: 16 * mib});
	t.deepEqual(ahead.plan(0, 2 * mib), {needed: [0], ahead: [1]});
	// Within the same part the window stays.
	t.deepEqual(ahead.plan(2 * mib, 2 * mib), {needed: [0], ahead: [1]});
	t.deepEqual(ahead.plan(4 * mib, 4 * mib), {needed: [1], ahead: [2, 3]});
	t.deepEqual(ahead.plan(8 * mib, 4 * mib), {needed: [2], ahead: [3, 4, 5, 6]});
	// 16 MiB of 4 MiB parts: four parts at most.
	t.deepEqual(ahead.plan(12 * mib, 4 * mib), {needed: [3], ahead: [4, 5, 6, 7]});
	t.is(ahead.windowParts, 4);
});

test('head of a large file costs the part it reads and one ahead', t => {
	const ahead = new ReadAhead(1024 * mib, 4 * mib);
	const plans = [0, 16, 32, 64].map(offsetKib => ahead.plan(offsetKib * kib, 16 * kib));
	t.deepEqual(plans.flatMap(plan => [...plan.needed, ...plan.ahead]).filter((part, index, all) => all.indexOf(part) === index), [0, 1]);
});

test('kernel read-ahead arriving out of order still counts as in order', t => {
	const ahead = new ReadAhead(100 * mib, 4 * mib);
	ahead.plan(0, 128 * kib);
	ahead.plan(384 * kib, 128 * kib);
	t.deepEqual(ahead.plan(256 * kib, 128 * kib), {needed: [0], ahead: [1]});
	t.is(ahead.windowParts, 1);
});

test('a seek ends the read-ahead until the reader goes on in order from there', t => {
	const ahead = new ReadAhead(100 * mib, 4 * mib);
	ahead.plan(0, 4 * mib);
	ahead.plan(4 * mib, 128 * kib);
	t.is(ahead.windowParts, 2);
	// A jump further than the kernel's own read-ahead is a seek too.
	t.deepEqual(ahead.plan(60 * mib, 4096), {needed: [15], ahead: []});
	t.deepEqual(ahead.plan((60 * mib) + 4096, 4096), {needed: [15], ahead: [16]});
	t.deepEqual(ahead.plan(2 * mib, 4096), {needed: [0], ahead: []});
});

test('a reader that does not start at the beginning is not served ahead until it reads on', t => {
	const ahead = new ReadAhead(100 * mib, 4 * mib);
	t.deepEqual(ahead.plan(50 * mib, 4096), {needed: [12], ahead: []});
	t.deepEqual(ahead.plan((50 * mib) + 4096, 4096), {needed: [12], ahead: [13]});
});

test('read-ahead stops at the last part', t => {
	const ahead = new ReadAhead(10 * mib, 4 * mib);
	ahead.plan(0, 4 * mib);
	t.deepEqual(ahead.plan(4 * mib, 4 * mib), {needed: [1], ahead: [2]});
	t.deepEqual(ahead.plan(8 * mib, 4 * mib), {needed: [2], ahead: []});
});
