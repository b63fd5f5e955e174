import test from 'ava';
import {majorityVote} from '../../../source/core/name-vote.js';

const md5 = (digit: string) => digit.repeat(32);
const holder = (id: string) => ({id, url: `http://127.0.0.1:${1000 + id.codePointAt(0)!}`});

test('the md5 and size most holders list win; the others are outvoted', t => {
	const claims = [
		{holder: holder('A'), md5: md5('a'), size: 10},
		{holder: holder('B'), md5: md5('b'), size: 10},
		{holder: holder('C'), md5: md5('a'), size: 10},
	];
	t.deepEqual(majorityVote('x', claims), {md5: md5('a'), size: 10, holders: [holder('A'), holder('C')], outvoted: [holder('B')]});
});

test('one machID counts once, however many addresses answer as it', t => {
	const liar = [1, 2, 3].map(port => ({holder: {id: 'M', url: `http://127.0.0.1:${port}`}, md5: md5('f'), size: 1}));
	const claims = [...liar, {holder: holder('A'), md5: md5('a'), size: 1}, {holder: holder('B'), md5: md5('a'), size: 1}];
	t.deepEqual(majorityVote('x', claims)?.holders, [holder('A'), holder('B')]);
});

test('a tie goes to the smaller md5, so every finder picks the same; no claim is no choice', t => {
	const claims = [{holder: holder('A'), md5: md5('c'), size: 1}, {holder: holder('B'), md5: md5('b'), size: 1}];
	t.is(majorityVote('x', claims)?.md5, md5('b'));
	t.is(majorityVote('x', [...claims].reverse())?.md5, md5('b'));
	t.is(majorityVote('x', []), undefined);
});
