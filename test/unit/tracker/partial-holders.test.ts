import test from 'ava';
import {PartialHolders} from '../../../tracker/partial-holders.js';

const entry = (name: string, have = 1) => ({name, md5: 'a'.repeat(32), size: 100, have, of: 4});

test('a peer\'s report replaces its last; each name lists the peers downloading it; the changed names come back', t => {
	const partial = new PartialHolders();
	t.deepEqual(partial.set('A', [entry('x'), entry('y')]), ['x', 'y']);
	t.deepEqual(partial.set('B', [entry('x', 2)]), ['x']);
	t.deepEqual([...partial.of('x')!.keys()], ['A', 'B']);
	t.is(partial.of('x')!.get('B')!.have, 2);
	// A's next report drops y: both names it named before and after are changed.
	t.deepEqual(partial.set('A', [entry('x', 3)]).sort(), ['x', 'y']);
	t.is(partial.of('y'), undefined);
	t.is(partial.of('x')!.get('A')!.have, 3);
	// A name given twice keeps its last entry.
	partial.set('C', [entry('z', 1), entry('z', 4)]);
	t.is(partial.of('z')!.get('C')!.have, 4);
});

test('clearing a peer forgets it everywhere and says which names it was downloading', t => {
	const partial = new PartialHolders();
	partial.set('A', [entry('x'), entry('y')]);
	partial.set('B', [entry('x')]);
	t.deepEqual(partial.clear('A'), ['x', 'y']);
	t.deepEqual([...partial.of('x')!.keys()], ['B']);
	t.is(partial.of('y'), undefined);
	t.deepEqual(partial.clear('A'), []);
	t.deepEqual(partial.set('B', []), ['x']);
	t.is(partial.of('x'), undefined);
});
