import test from 'ava';
import {SettleTracker, sameStamp} from '../../../source/core/settle.js';

const stamp = (size: number, mtimeMs = 1000, ino = 7) => ({size, mtimeMs, ino});

test('a file is due once its stamp has been still for the settle time; each change restarts the clock', t => {
	const settle = new SettleTracker({settleMs: 1000});
	settle.observe('a.bin', stamp(10), 0);
	t.is(settle.nextDueIn(0), 1000);
	settle.observe('a.bin', stamp(10), 600);
	t.deepEqual(settle.takeDue(999), []);
	settle.observe('a.bin', stamp(20, 1500), 900);
	t.deepEqual(settle.takeDue(1000), [], 'it grew at 900: still writing');
	t.is(settle.nextDueIn(1000), 900);
	t.deepEqual(settle.takeDue(1900), [{name: 'a.bin', stamp: stamp(20, 1500)}]);
	t.is(settle.size, 0);
	t.is(settle.nextDueIn(1900), undefined);
});

test('a file that is gone is due at once; a file that comes back waits again', t => {
	const settle = new SettleTracker({settleMs: 1000});
	settle.observe('a.bin', stamp(10), 0);
	settle.observe('a.bin', undefined, 100);
	t.is(settle.nextDueIn(100), 0);
	t.deepEqual(settle.takeDue(100), [{name: 'a.bin', gone: true}]);
	settle.observe('a.bin', stamp(10), 200);
	settle.forget('a.bin');
	t.deepEqual(settle.takeDue(5000), []);
});

test('stamps are the same only with the same size, mtime and inode', t => {
	t.true(sameStamp(stamp(1), stamp(1)));
	t.false(sameStamp(stamp(1), stamp(2)));
	t.false(sameStamp(stamp(1, 1), stamp(1, 2)));
	t.false(sameStamp(stamp(1, 1, 1), stamp(1, 1, 2)));
	t.false(sameStamp(stamp(1), undefined));
	t.true(sameStamp(undefined, undefined));
});

test('the next name due is the one that changed first, also after sights out of order and names that are gone', t => {
	const settle = new SettleTracker({settleMs: 1000});
	settle.observe('a.bin', stamp(1), 0);
	settle.observe('b.bin', stamp(1), 100);
	settle.observe('c.bin', stamp(1), 200);
	settle.observe('a.bin', stamp(2), 300);
	t.is(settle.nextDueIn(300), 800, 'a.bin changed again: b.bin is next');
	// A sight recorded with an earlier time (a scan that began before) waits at least as long as the latest.
	settle.observe('d.bin', stamp(1), 50);
	t.deepEqual(settle.takeDue(1100).map(due => due.name), ['b.bin']);
	settle.observe('e.bin', undefined, 1100);
	t.is(settle.nextDueIn(1100), 0);
	t.deepEqual(settle.takeDue(1100).map(due => due.name), ['e.bin']);
	t.deepEqual(settle.takeDue(1199).map(due => due.name), []);
	t.deepEqual(settle.takeDue(1200).map(due => due.name), ['c.bin']);
	t.is(settle.nextDueIn(1200), 100);
	t.deepEqual(settle.takeDue(1299).map(due => due.name), [], 'd.bin, seen at 50 after a sight at 300, waits as long');
	t.deepEqual(settle.takeDue(1300).map(due => due.name), ['a.bin', 'd.bin']);
	t.is(settle.nextDueIn(1300), undefined);
	t.is(settle.size, 0);
});
