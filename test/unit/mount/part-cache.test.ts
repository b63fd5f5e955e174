import test from 'ava';
import {PartBuffers} from '../../../source/mount/part-buffers.js';
import {PartCache} from '../../../source/mount/part-cache.js';

test('least recently used parts go first once the budget is passed; pinned ones stay', t => {
	const released: string[] = [];
	const cache = new PartCache(3, bytes => released.push(bytes.toString()));
	cache.put('f:0', Buffer.from('a'), {pinned: false});
	cache.put('f:1', Buffer.from('b'), {pinned: true});
	cache.put('f:2', Buffer.from('c'), {pinned: false});
	t.is(cache.get('f:0')?.toString(), 'a');
	cache.put('f:3', Buffer.from('d'), {pinned: false});
	// f:1 is pinned (not yet on disk) and f:0 was just read: f:2 goes.
	t.deepEqual(released, ['c']);
	t.true(cache.has('f:1'));
	cache.unpin('f:1');
	cache.put('f:4', Buffer.from('e'), {pinned: false});
	t.deepEqual(released, ['c', 'b']);
	t.is(cache.bytes, 3);
});

test('a file done with is dropped whole, its buffers given back', t => {
	const released: string[] = [];
	const cache = new PartCache(100, bytes => released.push(bytes.toString()));
	cache.put('1:0', Buffer.from('a'), {pinned: false});
	cache.put('1:1', Buffer.from('b'), {pinned: true});
	cache.put('12:0', Buffer.from('c'), {pinned: false});
	cache.deleteAll('1:');
	t.deepEqual(released.sort(), ['a', 'b']);
	t.true(cache.has('12:0'));
	t.is(cache.bytes, 1);
});

test('part buffers own their memory whole and are reused by capacity, up to a limit', t => {
	const buffers = new PartBuffers(8);
	const first = buffers.take(4, 4);
	t.is(first.byteOffset, 0);
	t.is(first.buffer.byteLength, 4);
	const short = buffers.take(4, 3);
	t.is(short.length, 3);
	t.is(short.buffer.byteLength, 4);
	buffers.give(first);
	t.is(buffers.idleBytes, 4);
	const again = buffers.take(4, 2);
	t.is(again.buffer, first.buffer);
	t.is(buffers.idleBytes, 0);
	buffers.give(short);
	buffers.give(again);
	buffers.give(buffers.take(4, 4));
	t.is(buffers.idleBytes, 8);
	// Memory moved away (to the hashing thread) has nothing left to give back.
	const moved = buffers.take(16, 16);
	structuredClone(moved.buffer, {transfer: [moved.buffer]});
	buffers.give(moved);
	t.is(buffers.idleBytes, 8);
});
