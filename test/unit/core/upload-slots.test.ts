import test from 'ava';
import {UploadSlots} from '../../../source/core/upload-slots.js';

test('beyond the cap a request is refused; a freed slot goes to the requester that waited, not to the one that just finished', t => {
	const slots = new UploadSlots(2, {holdMs: 1500});
	t.true(slots.take('fast', 0));
	t.true(slots.take('other', 0));
	t.false(slots.take('slow', 10));
	slots.release('fast', 100);
	// Fast asks again at once: the slot is kept for slow.
	t.false(slots.take('fast', 101));
	t.true(slots.take('slow', 1000));
	t.is(slots.inUse, 2);
	// Now fast waits, and gets the next slot that frees.
	slots.release('other', 1100);
	t.false(slots.take('other', 1101));
	t.true(slots.take('fast', 1200));
});

test('a kept slot is given to anyone once its holder has not come for it', t => {
	const slots = new UploadSlots(1, {holdMs: 1500});
	t.true(slots.take('a', 0));
	t.false(slots.take('b', 0));
	slots.release('a', 10);
	t.false(slots.take('a', 20));
	t.true(slots.take('a', 1600));
});

test('the requester holding the fewest slots is served first, then the longest waiting', t => {
	const slots = new UploadSlots(3);
	t.true(slots.take('greedy', 0));
	t.true(slots.take('greedy', 0));
	t.true(slots.take('x', 0));
	t.false(slots.take('greedy', 1));
	t.false(slots.take('late', 2));
	t.false(slots.take('later', 3));
	slots.release('x', 10);
	t.false(slots.take('greedy', 11));
	t.false(slots.take('later', 11));
	t.true(slots.take('late', 12));
	slots.release('greedy', 20);
	t.true(slots.take('later', 21));
});

test('with free slots every request is served, whoever asks', t => {
	const slots = new UploadSlots(32);
	for (let index = 0; index < 32; index++) {
		t.true(slots.take('same', 0));
	}

	t.false(slots.take('same', 0));
});
