import test from 'ava';
import {costOf, defaultK, isPolicy, rankHolders, type Candidate} from '../../../source/core/cost.js';

const holders: Candidate[] = [
	{id: 'near-busy', url: 'http://127.0.0.1:1', latencyMs: 150, load: 3},
	{id: 'far-idle', url: 'http://127.0.0.1:2', latencyMs: 900, load: 0},
	{id: 'mid-one', url: 'http://127.0.0.1:3', latencyMs: 400, load: 1},
];

const ids = (ranked: Array<{id: string}>) => ranked.map(holder => holder.id);

test('costOf is latency plus k per unit of load', t => {
	t.is(costOf(150, 0, 500), 150);
	t.is(costOf(150, 3, 500), 1650);
	t.is(costOf(400, 1, 0), 400);
	t.is(costOf(250, 2), 250 + (2 * defaultK));
});

test('cost ranks by latency + k·load and reports each cost', t => {
	const ranked = rankHolders(holders, {policy: 'cost', k: 200});
	t.deepEqual(ranked.map(holder => [holder.id, holder.cost]), [['mid-one', 600], ['near-busy', 750], ['far-idle', 900]]);
});

test('a large k sends the download to the idle holder, k = 0 to the nearest', t => {
	t.deepEqual(ids(rankHolders(holders, {policy: 'cost', k: 1000})), ['far-idle', 'mid-one', 'near-busy']);
	t.deepEqual(ids(rankHolders(holders, {policy: 'cost', k: 0})), ['near-busy', 'mid-one', 'far-idle']);
});

test('cost is the default policy and defaultK the default k', t => {
	t.deepEqual(rankHolders(holders), rankHolders(holders, {policy: 'cost', k: defaultK}));
});

test('latency ignores load; load ignores latency', t => {
	t.deepEqual(ids(rankHolders(holders, {policy: 'latency', k: 1000})), ['near-busy', 'mid-one', 'far-idle']);
	t.deepEqual(ids(rankHolders(holders, {policy: 'load', k: 0})), ['far-idle', 'mid-one', 'near-busy']);
});

test('ties fall back to cost, then to the id', t => {
	const tied: Candidate[] = [
		{id: 'b', url: 'http://127.0.0.1:1', latencyMs: 300, load: 0},
		{id: 'a', url: 'http://127.0.0.1:2', latencyMs: 300, load: 0},
		{id: 'c', url: 'http://127.0.0.1:3', latencyMs: 300, load: 1},
		{id: 'd', url: 'http://127.0.0.1:4', latencyMs: 100, load: 1},
	];
	t.deepEqual(ids(rankHolders(tied, {policy: 'cost', k: 200})), ['a', 'b', 'd', 'c']);
	t.deepEqual(ids(rankHolders(tied, {policy: 'latency', k: 200})), ['d', 'a', 'b', 'c']);
	t.deepEqual(ids(rankHolders(tied, {policy: 'load', k: 200})), ['a', 'b', 'd', 'c']);
});

test('random follows the random source it is given and leaves the input alone', t => {
	const draws = [0.7, 0.1, 0.4];
	const input = [...holders];
	const ranked = rankHolders(input, {policy: 'random', k: 200, random: () => draws.shift()!});
	t.deepEqual(ids(ranked), ['far-idle', 'mid-one', 'near-busy']);
	t.deepEqual(input, holders);
});

test('no holder ranks to an empty list', t => {
	t.deepEqual(rankHolders([], {policy: 'cost'}), []);
});

test('isPolicy accepts exactly the four policies', t => {
	t.deepEqual(['cost', 'latency', 'load', 'random', 'fastest', 'COST', ''].map(value => isPolicy(value)), [true, true, true, true, false, false, false]);
});
