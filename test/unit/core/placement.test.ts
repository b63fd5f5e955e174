import test from 'ava';
import fc from 'fast-check';
import {distanceTo, keyOf, placementFor, rankByDistance, xorDistance} from '../../../source/core/placement.js';

const six = ['A', 'B', 'C', 'D', 'E', 'F'];
const idArbitrary = fc.stringMatching(/^[A-Za-z\d._-]{1,12}$/);

test('keys are sha1 as 160-bit big-endian numbers', t => {
	// Sha1("a") and sha1("b"), as sha1sum prints them.
	t.is(keyOf('a'), 0x86_F7_E4_37_FA_A5_A7_FC_E1_5D_1D_DC_B9_EA_EA_EA_37_76_67_B8n);
	t.is(xorDistance(keyOf('a'), keyOf('b')), 0x6F_20_FB_69_1D_6C_8A_91_28_B4_32_21_14_FD_52_57_7E_37_E8_20n);
});

test('placement is the r XOR-closest peers, closest first (computed apart with Python\'s hashlib)', t => {
	t.deepEqual(rankByDistance('song.mp3', six), ['C', 'D', 'A', 'B', 'F', 'E']);
	t.deepEqual(placementFor('song.mp3', six, 3), ['C', 'D', 'A']);
	t.deepEqual(placementFor('song.mp3', [...six].reverse(), 3), ['C', 'D', 'A']);
});

test('refusals are skipped and the next closest takes the place', t => {
	t.deepEqual(placementFor('song.mp3', six, 3, {refused: ['D']}), ['C', 'A', 'B']);
	t.deepEqual(placementFor('song.mp3', six, 3, {refused: new Set(['C', 'D', 'A', 'B'])}), ['F', 'E']);
});

test('fewer peers than r: all of them; r of 0 or less: none; ids given twice count once', t => {
	t.deepEqual(placementFor('song.mp3', ['E', 'A'], 3), ['A', 'E']);
	t.deepEqual(placementFor('song.mp3', six, 0), []);
	t.deepEqual(placementFor('song.mp3', ['A', 'A', 'C'], 3), ['C', 'A']);
	t.deepEqual(placementFor('song.mp3', [], 3), []);
});

test('property: XOR distance is a metric with unique distances to a target', t => {
	t.notThrows(() => {
		fc.assert(fc.property(idArbitrary, idArbitrary, idArbitrary, (a, b, c) => {
			const [ka, kb, kc] = [keyOf(a), keyOf(b), keyOf(c)];
			const ok = xorDistance(ka, ka) === 0n
				&& xorDistance(ka, kb) === xorDistance(kb, ka)
				// Kademlia's triangle: d(a,c) <= d(a,b) + d(b,c), here even d(a,c) = d(a,b) ^ d(b,c).
				&& xorDistance(ka, kc) === (xorDistance(ka, kb) ^ xorDistance(kb, kc))
				&& (a === b || xorDistance(kc, ka) !== xorDistance(kc, kb));
			return ok;
		}));
	});
});

test('property: placement is the r smallest distances, independent of order, and a subset of the peers', t => {
	t.notThrows(() => {
		fc.assert(fc.property(idArbitrary, fc.uniqueArray(idArbitrary, {maxLength: 20}), fc.integer({min: 0, max: 6}), (name, ids, r) => {
			const placed = placementFor(name, ids, r);
			const shuffled = placementFor(name, [...ids].reverse(), r);
			const distances = ids.map(id => distanceTo(name, id)).sort((a, b) => (a < b ? -1 : (a > b ? 1 : 0)));
			return placed.length === Math.min(r, ids.length)
				&& placed.every((id, index) => distanceTo(name, id) === distances[index])
				&& JSON.stringify(placed) === JSON.stringify(shuffled)
				&& placed.every(id => ids.includes(id));
		}));
	});
});

test('property: a refusal takes one peer out and lets the next closest in; the rest keep their places', t => {
	t.notThrows(() => {
		fc.assert(fc.property(idArbitrary, fc.uniqueArray(idArbitrary, {minLength: 1, maxLength: 20}), fc.integer({min: 1, max: 6}), fc.nat(), (name, ids, r, pick) => {
			const placed = placementFor(name, ids, r);
			if (placed.length === 0) {
				return true;
			}

			const refused = placed[pick % placed.length]!;
			const after = placementFor(name, ids, r, {refused: [refused]});
			const next = rankByDistance(name, ids)[r];
			const expected = [...placed.filter(id => id !== refused), ...(next === undefined ? [] : [next])];
			return JSON.stringify(after) === JSON.stringify(expected);
		}));
	});
});

test('property: a peer that joins either takes one place (the farthest leaves) or changes nothing', t => {
	t.notThrows(() => {
		fc.assert(fc.property(idArbitrary, fc.uniqueArray(idArbitrary, {minLength: 1, maxLength: 20}), idArbitrary, fc.integer({min: 1, max: 6}), (name, ids, joiner, r) => {
			fc.pre(!ids.includes(joiner));
			const before = placementFor(name, ids, r);
			const after = placementFor(name, [...ids, joiner], r);
			const moved = before.filter(id => !after.includes(id));
			return after.includes(joiner)
				? (before.length < r ? moved.length === 0 : moved.length === 1 && moved[0] === before.at(-1))
				: JSON.stringify(before) === JSON.stringify(after);
		}));
	});
});
