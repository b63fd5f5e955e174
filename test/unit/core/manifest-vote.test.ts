import test from 'ava';
import {chooseManifest, type ManifestVote} from '../../../source/core/manifest-vote.js';

const kib = 1024;
const md5 = (digit: string) => digit.repeat(32);

test('the manifest most holders agree on wins; holders with other bytes are named', t => {
	const size = 200 * kib;
	const good = {partSize: 64 * kib, md5s: [md5('a'), md5('b'), md5('c'), md5('d')]};
	const other = {partSize: 64 * kib, md5s: [md5('a'), md5('b'), md5('e'), md5('d')]};
	const otherCut = {partSize: 128 * kib, md5s: [md5('f'), md5('0')]};
	const wrongCount = {partSize: 64 * kib, md5s: [md5('a')]};
	const votes: ManifestVote[] = [
		{holder: 'A', manifest: good},
		{holder: 'B', manifest: other},
		{holder: 'C', manifest: good},
		{holder: 'D', manifest: otherCut},
		{holder: 'E', manifest: wrongCount},
	];
	t.deepEqual(chooseManifest(votes, size), {manifest: good, agreeing: ['A', 'C'], disagreeing: ['B', 'E']});
});

test('a manifest tie goes to the smaller part size, then the smaller list', t => {
	const size = 256 * kib;
	const small = {partSize: 64 * kib, md5s: [md5('9'), md5('9'), md5('9'), md5('9')]};
	const large = {partSize: 128 * kib, md5s: [md5('1'), md5('1')]};
	t.deepEqual(chooseManifest([{holder: 'A', manifest: large}, {holder: 'B', manifest: small}], size)?.agreeing, ['B']);
	const low = {partSize: 128 * kib, md5s: [md5('1'), md5('2')]};
	const high = {partSize: 128 * kib, md5s: [md5('3'), md5('2')]};
	t.deepEqual(chooseManifest([{holder: 'A', manifest: high}, {holder: 'B', manifest: low}], size), {manifest: low, agreeing: ['B'], disagreeing: ['A']});
	t.is(chooseManifest([{holder: 'A', manifest: {partSize: 1, md5s: []}}], size), undefined);
	t.is(chooseManifest([], size), undefined);
});

