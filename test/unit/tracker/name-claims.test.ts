import test from 'ava';
import {type Claim, NameClaims} from '../../../tracker/name-claims.js';

const claim = (owner: string, md5 = 'a'.repeat(32)): Claim => ({owner, md5, size: 1, version: 1, sig: undefined, since: 0, count: 1, checked: false});

test('one owner, then two, then one again: each claim is found by its owner, and a name without claims has none', t => {
	const claims = new NameClaims();
	t.is(claims.of('doc'), undefined);
	t.is(claims.count('doc'), 0);
	const a = claim('A');
	claims.add('doc', a);
	t.deepEqual(claims.of('doc'), [a]);
	t.is(claims.get('doc', 'A'), a);
	t.is(claims.get('doc', 'B'), undefined);
	const b = claim('B', 'b'.repeat(32));
	claims.add('doc', b);
	t.is(claims.count('doc'), 2);
	t.deepEqual(new Set(claims.of('doc')), new Set([a, b]));
	t.is(claims.get('doc', 'B'), b);
	claims.delete('doc', 'A');
	t.deepEqual(claims.of('doc'), [b]);
	t.is(claims.get('doc', 'A'), undefined);
	claims.delete('doc', 'C');
	t.is(claims.count('doc'), 1);
	claims.delete('doc', 'B');
	t.is(claims.of('doc'), undefined);
	t.is(claims.count('other'), 0);
});

test('a second claim of the same owner replaces the first, alone or beside others', t => {
	const claims = new NameClaims();
	claims.add('doc', claim('A'));
	const again = claim('A', 'c'.repeat(32));
	claims.add('doc', again);
	t.deepEqual(claims.of('doc'), [again]);
	claims.add('doc', claim('B'));
	const third = claim('B', 'd'.repeat(32));
	claims.add('doc', third);
	t.is(claims.count('doc'), 2);
	t.is(claims.get('doc', 'B'), third);
});
