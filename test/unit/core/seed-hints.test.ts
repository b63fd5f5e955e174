import test from 'ava';
import {SeedHints, suggestionCount} from '../../../source/core/seed-hints.js';

test('each downloader is suggested parts not sent so far and not promised to another', t => {
	const hints = new SeedHints(() => 0.5);
	const seen = new Set<number>();
	for (const [order, requester] of ['a', 'b', 'c', 'd'].entries()) {
		const suggested = hints.sent('file', 32, requester, order);
		t.is(suggested.length, suggestionCount);
		t.false(suggested.includes(order));
		for (const part of suggested) {
			// Parts 0 to `order` have been sent: not suggested; nor is a part promised to another downloader.
			t.true(part > order, `part ${part}`);
			t.false(seen.has(part), `part ${part} suggested twice`);
			seen.add(part);
		}
	}

	t.deepEqual(hints.sentCounts('file').slice(0, 5), [1, 1, 1, 1, 0]);
});

test('a downloader that asks again releases its earlier promises; parts never sent go before any sent once', t => {
	const hints = new SeedHints(() => 0.5);
	// Three parts: a is sent 0 and promised the others.
	t.deepEqual(hints.sent('file', 3, 'a', 0).sort(), [1, 2]);
	// b is sent 1: part 2, never sent, though promised to a, goes before part 0, sent once.
	t.deepEqual(hints.sent('file', 3, 'b', 1), [2, 0]);
	// a takes part 2: its promise of part 1 is released.
	hints.sent('file', 3, 'a', 2);
	t.deepEqual(hints.sentCounts('file'), [1, 1, 1]);
	t.deepEqual(hints.sent('file', 3, 'c', 0), [1, 2]);
});

test('ties among parts sent as often are broken at random; a part outside the file suggests nothing', t => {
	const firsts = new Set<number>();
	let seed = 7;
	const random = () => {
		seed = (seed * 16_807) % 2_147_483_647;
		return seed / 2_147_483_647;
	};

	for (let run = 0; run < 8; run++) {
		firsts.add(new SeedHints(random).sent('file', 64, 'a', 0)[0]!);
	}

	t.true(firsts.size >= 4, `first suggestions ${[...firsts].join(',')}`);
	t.deepEqual(new SeedHints().sent('file', 4, 'a', 4), []);
	t.deepEqual(new SeedHints().sent('file', 4, 'a', -1), []);
});

test('a file whose part count changed (a new version) starts its counts again', t => {
	const hints = new SeedHints(() => 0.5);
	hints.sent('file', 4, 'a', 0);
	hints.sent('file', 6, 'a', 0);
	t.deepEqual(hints.sentCounts('file'), [1, 0, 0, 0, 0, 0]);
});
