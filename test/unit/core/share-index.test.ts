import test from 'ava';
import {ShareIndex} from '../../../source/core/share-index.js';

const md5a = 'a'.repeat(32);
const md5b = 'b'.repeat(32);
const entry = (name: string, md5 = md5a, size = 1) => ({name, md5, size});

test('a change is one batch between two versions; an unchanged file is not one', t => {
	const index = new ShareIndex([entry('x'), entry('y')], new Map([['x', {size: 1, mtimeMs: 5, ino: 9}]]));
	t.is(index.version, 0);
	t.true(index.isCurrent('x', {size: 1, mtimeMs: 5, ino: 9}));
	t.false(index.isCurrent('x', {size: 1, mtimeMs: 6, ino: 9}));
	t.false(index.set(entry('x'), {size: 1, mtimeMs: 6, ino: 9}), 'touched, same md5: nothing to tell');
	t.is(index.takeBatch(1000), undefined);
	t.true(index.set(entry('z', md5b, 3)));
	t.true(index.set(entry('x', md5b, 2)));
	t.true(index.remove('y'));
	t.false(index.remove('y'));
	t.deepEqual(index.takeBatch(1000), {
		from: 0, to: 1,
		changes: {add: [entry('z', md5b, 3), entry('x', md5b, 2)], remove: ['y']},
		counts: {added: 1, changed: 1, removed: 1},
	});
	t.deepEqual(index.entries(), [entry('x', md5b, 2), entry('z', md5b, 3)]);
	t.false(index.hasPending);
});

test('changes that cancel out are dropped; a burst goes in batches of at most max', t => {
	const index = new ShareIndex();
	index.set(entry('tmp'));
	index.remove('tmp');
	index.set(entry('x'));
	index.set(entry('x', md5b));
	index.set(entry('x'));
	t.deepEqual(index.takeBatch(10)?.changes, {add: [entry('x')], remove: []});
	for (let file = 0; file < 2500; file++) {
		index.set(entry(`f${file}`));
	}

	const sizes: number[] = [];
	for (let batch = index.takeBatch(1000); batch; batch = index.takeBatch(1000)) {
		sizes.push(batch.changes.add.length);
		t.is(batch.to, batch.from + 1);
	}

	t.deepEqual(sizes, [1000, 1000, 500]);
	t.is(index.version, 4);
});

test('the whole list takes the pending changes with it and moves the version on', t => {
	const index = new ShareIndex([entry('x')]);
	index.set(entry('y'));
	t.is(index.takeWhole(), 1);
	t.false(index.hasPending);
	t.is(index.takeBatch(1000), undefined);
	index.replaceAll([entry('y'), entry('w')]);
	t.deepEqual(index.takeBatch(1000)?.changes, {add: [entry('w')], remove: ['x']});
});

test('touch sends an unchanged entry again in the next batch (what is published with it changed), and a name not listed is not touched', t => {
	const listed = entry('a');
	const index = new ShareIndex([listed]);
	t.is(index.takeBatch(10), undefined);
	t.true(index.touch('a'));
	t.false(index.touch('missing'));
	t.deepEqual(index.takeBatch(10), {from: 0, to: 1, changes: {add: [listed], remove: []}, counts: {added: 0, changed: 1, removed: 0}});
	t.is(index.takeBatch(10), undefined);
});
