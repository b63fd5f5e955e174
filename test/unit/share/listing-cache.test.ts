import {readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {hashCacheFileName} from '../../../source/share/hash-cache.js';
import {DirStamps, listingCacheFileName, matchListing, serializeListing} from '../../../source/share/listing-cache.js';
import {stateDirName} from '../../../source/share/share-dir.js';
import {md5, scan, tempShareDir, writeOld} from '../../helpers/share-scan.js';

type Stamped = [name: string, size: number, mtimeMs: number, ino: number];

function stampsOf(...files: Stamped[]): DirStamps {
	const stamps = new DirStamps();
	for (const [name, size, mtimeMs, ino] of files) {
		stamps.add(name, {size, mtimeMs, ino});
	}

	return stamps;
}

test('a saved listing matches only the same files with the same stamps in the same order', t => {
	const a: Stamped = ['a.txt', 5, 1_700_000_000_123.456, 7];
	const b: Stamped = ['b.txt', 5, 1_700_000_000_000, 8];
	const json = JSON.stringify([{name: 'a.txt', md5: md5('alpha'), size: 5}, {name: 'b.txt', md5: md5('bravo'), size: 5}]);
	const saved = serializeListing(stampsOf(a, b), json);
	t.is(matchListing(saved, stampsOf(a, b)), json);

	const misses: Array<[string, DirStamps]> = [
		['another order', stampsOf(b, a)],
		['a touched file', stampsOf(['a.txt', 5, 1_700_000_000_123.457, 7], b)],
		['another size', stampsOf(['a.txt', 6, a[2], 7], b)],
		['another inode', stampsOf(['a.txt', 5, a[2], 9], b)],
		['a renamed file', stampsOf(['c.txt', 5, a[2], 7], b)],
		['a file more', stampsOf(a, b, ['c.txt', 1, 1, 10])],
		['a file less', stampsOf(a)],
		['names split differently', stampsOf(['a.txtb.txt', 5, a[2], 7], b)],
		['no files', stampsOf()],
	];
	for (const [what, stamps] of misses) {
		t.is(matchListing(saved, stamps), undefined, what);
	}

	const same = stampsOf(a, b);
	const damaged: Array<[string, string]> = [
		['an edited list', saved.replace(md5('alpha'), md5('ALPHA'))],
		['a cut list', saved.slice(0, -1)],
		['another format', saved.replace('xfs-listing 1', 'xfs-listing 2')],
		['no list', saved.slice(0, saved.lastIndexOf('\n'))],
		['an empty file', ''],
	];
	for (const [what, text] of damaged) {
		t.is(matchListing(text, same), undefined, what);
	}
});

test('DirStamps keeps every name and stamp as added, however many', t => {
	const files = Array.from({length: 2500}, (_, index): Stamped => [`f${index}.dat`, index * 3, 1_700_000_000_000 + (index / 8), 100_000 + index]);
	const stamps = stampsOf(...files);
	t.is(stamps.count, 2500);
	t.is(stamps.newestMtimeMs, 1_700_000_000_000 + (2499 / 8));
	t.deepEqual([...stamps.entries()], files.map(([name, size, mtimeMs, ino]) => [name, {size, mtimeMs, ino}]));
	t.is(matchListing(serializeListing(stamps, '[]'), stampsOf(...files)), '[]');
	t.is(stampsOf().newestMtimeMs, Number.NEGATIVE_INFINITY);
});

test('a restart with an unchanged dir sends the saved listing without reading the hash cache', async t => {
	const dir = await tempShareDir(t);
	await writeOld(path.join(dir, 'a.txt'), 'alpha');
	await writeOld(path.join(dir, 'b.txt'), 'bravo');
	const first = await scan(dir);
	// A hash cache that cannot be read would mean hashing both files again: the listing alone answers.
	const cacheFile = path.join(dir, stateDirName, hashCacheFileName);
	await writeFile(cacheFile, 'not a cache');
	const second = await scan(dir);
	t.deepEqual(second, {files: first.files, stats: {files: 2, hashed: 0, cached: 2}});
	t.is(await readFile(cacheFile, 'utf8'), 'not a cache');

	// A file added: the listing no longer matches, the hash cache is read (and rebuilt) again.
	await writeOld(path.join(dir, 'c.txt'), 'charlie');
	const added = await scan(dir);
	t.deepEqual(added.stats, {files: 3, hashed: 3, cached: 0});
	t.deepEqual(added.files.map(file => file.md5), [md5('alpha'), md5('bravo'), md5('charlie')]);
	t.deepEqual((await scan(dir)).stats, {files: 3, hashed: 0, cached: 3});
});

test('an edited listing is not believed: the true md5s are listed and the listing is written again', async t => {
	const dir = await tempShareDir(t);
	await writeOld(path.join(dir, 'a.txt'), 'alpha');
	await scan(dir);
	const listingFile = path.join(dir, stateDirName, listingCacheFileName);
	const good = await readFile(listingFile, 'utf8');
	await writeFile(listingFile, good.replace(md5('alpha'), md5('forged')));
	const {files, stats} = await scan(dir);
	t.deepEqual(files, [{name: 'a.txt', md5: md5('alpha'), size: 5}]);
	t.deepEqual(stats, {files: 1, hashed: 0, cached: 1});
	t.is(await readFile(listingFile, 'utf8'), good);
});

test('no listing is kept while a file is too fresh for its mtime to be trusted', async t => {
	const dir = await tempShareDir(t);
	await writeOld(path.join(dir, 'old.txt'), 'settled');
	await writeFile(path.join(dir, 'fresh.txt'), 'still being written');
	t.deepEqual((await scan(dir)).stats, {files: 2, hashed: 2, cached: 0});
	await t.throwsAsync(readFile(path.join(dir, stateDirName, listingCacheFileName)), {code: 'ENOENT'});
	t.deepEqual((await scan(dir)).stats, {files: 2, hashed: 1, cached: 1});
});
