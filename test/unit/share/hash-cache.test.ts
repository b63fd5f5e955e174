import {readdir, readFile, rename, rm, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {hashCacheFileName, HashCache, racyWindowMs} from '../../../source/share/hash-cache.js';
import {listingCacheFileName} from '../../../source/share/listing-cache.js';
import {stateDirName} from '../../../source/share/share-dir.js';
import {md5, scan, tempShareDir, writeOld} from '../../helpers/share-scan.js';

test('a restart with an unchanged dir hashes nothing and lists the same md5s', async t => {
	const dir = await tempShareDir(t);
	await writeOld(path.join(dir, 'a.txt'), 'alpha');
	await writeOld(path.join(dir, 'b.txt'), 'bravo');
	const first = await scan(dir);
	t.deepEqual(first.stats, {files: 2, hashed: 2, cached: 0});
	t.deepEqual(first.files, [{name: 'a.txt', md5: md5('alpha'), size: 5}, {name: 'b.txt', md5: md5('bravo'), size: 5}]);
	const second = await scan(dir);
	t.deepEqual(second.stats, {files: 2, hashed: 0, cached: 2});
	t.deepEqual(second.files, first.files);
});

test('a changed file is hashed again: new content at the same size, or a new file renamed over it with the same mtime', async t => {
	const dir = await tempShareDir(t);
	const file = path.join(dir, 'a.txt');
	await writeOld(file, 'alpha');
	await writeOld(path.join(dir, 'b.txt'), 'bravo');
	await scan(dir);

	await writeOld(file, 'ALPHA', new Date('2024-01-02T03:04:06Z'));
	const edited = await scan(dir);
	t.deepEqual(edited.stats, {files: 2, hashed: 1, cached: 1});
	t.is(edited.files[0]!.md5, md5('ALPHA'));

	// Same name, size and mtime; only the inode tells it apart.
	const replacement = path.join(dir, '.replacement');
	await writeOld(replacement, 'aLpHa', new Date('2024-01-02T03:04:06Z'));
	await rename(replacement, file);
	const replaced = await scan(dir);
	t.deepEqual(replaced.stats, {files: 2, hashed: 1, cached: 1});
	t.is(replaced.files[0]!.md5, md5('aLpHa'));
});

test('a file modified just now is hashed but not remembered', async t => {
	const dir = await tempShareDir(t);
	await writeFile(path.join(dir, 'fresh.txt'), 'still being written');
	t.deepEqual((await scan(dir)).stats, {files: 1, hashed: 1, cached: 0});
	t.deepEqual((await scan(dir)).stats, {files: 1, hashed: 1, cached: 0});
});

test('a corrupt or foreign cache file is ignored and replaced by a good one', async t => {
	const dir = await tempShareDir(t);
	await writeOld(path.join(dir, 'a.txt'), 'alpha');
	await scan(dir);
	const cacheFile = path.join(dir, stateDirName, hashCacheFileName);
	for (const garbage of ['{"version":1,"files":{"a.txt":[5,', 'null', '{"version":99,"files":{}}', `{"version":1,"files":{"a.txt":[5,"x",1,"${md5('alpha')}"]}}`]) {
		await writeFile(cacheFile, garbage);
		// Without the saved listing the scan goes through the hash cache.
		await rm(path.join(dir, stateDirName, listingCacheFileName));
		const {files, stats} = await scan(dir);
		t.deepEqual(stats, {files: 1, hashed: 1, cached: 0}, garbage);
		t.deepEqual(files, [{name: 'a.txt', md5: md5('alpha'), size: 5}]);
		t.is(HashCache.parse(await readFile(cacheFile, 'utf8')).size, 1);
	}

	// No temp file is left beside the cache and the listing after their atomic replace.
	t.deepEqual((await readdir(path.join(dir, stateDirName))).filter(name => name !== 'partial').sort(), [hashCacheFileName, listingCacheFileName]);
});

test('the cache forgets deleted files and is never listed as a shared file', async t => {
	const dir = await tempShareDir(t);
	await writeOld(path.join(dir, 'a.txt'), 'alpha');
	await writeOld(path.join(dir, 'b.txt'), 'bravo');
	await scan(dir);
	await rm(path.join(dir, 'b.txt'));
	const {files} = await scan(dir);
	t.deepEqual(files.map(file => file.name), ['a.txt']);
	const saved = JSON.parse(await readFile(path.join(dir, stateDirName, hashCacheFileName), 'utf8')) as {files: Record<string, unknown>};
	t.deepEqual(Object.keys(saved.files), ['a.txt']);
});

test('HashCache matches on size, mtime and inode, and skips entries it cannot read', t => {
	const cache = HashCache.parse(JSON.stringify({version: 1, files: {
		'a.txt': [5, 1000, 7, md5('alpha')],
		'bad-md5.txt': [5, 1000, 7, 'nope'],
		'bad-size.txt': [-1, 1000, 7, md5('alpha')],
	}}));
	t.is(cache.size, 1);
	t.is(cache.lookup('a.txt', {size: 5, mtimeMs: 1000, ino: 7}), md5('alpha'));
	t.is(cache.lookup('a.txt', {size: 6, mtimeMs: 1000, ino: 7}), undefined);
	t.is(cache.lookup('a.txt', {size: 5, mtimeMs: 1001, ino: 7}), undefined);
	t.is(cache.lookup('a.txt', {size: 5, mtimeMs: 1000, ino: 8}), undefined);
	t.false(cache.changed);
	cache.record('b.txt', {size: 1, mtimeMs: 5000, ino: 9}, md5('b'), 5000 + racyWindowMs + 1);
	t.true(cache.changed);
	t.deepEqual(HashCache.parse(cache.serialize()).lookup('b.txt', {size: 1, mtimeMs: 5000, ino: 9}), md5('b'));
	// Any valid file name is a plain key, even one an object would treat specially.
	cache.record('__proto__', {size: 2, mtimeMs: 6000, ino: 10}, md5('p'), 6000 + racyWindowMs + 1);
	t.is(HashCache.parse(cache.serialize()).lookup('__proto__', {size: 2, mtimeMs: 6000, ino: 10}), md5('p'));
});
