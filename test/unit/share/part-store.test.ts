import {createHash} from 'node:crypto';
import {mkdir, open, readdir, readFile, utimes, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {deterministicBytes} from '../../../fixtures/generate.js';
import {partCount, partSpan} from '../../../source/core/part-geometry.js';
import {PartStore, hasResumableParts, resumableBytes} from '../../../source/share/part-store.js';
import {PartsCache} from '../../../source/serve/parts-endpoint.js';
import {partialDir, preparePartialDir, resumableDir} from '../../../source/share/share-dir.js';
import {shareDir} from '../../helpers/processes.js';
import {mountTmpfs} from '../../helpers/tmpfs.js';

const partSize = 64 * 1024;
const content = deterministicBytes((5 * partSize) + 1000, 97);
const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');
const file = {name: 'big.bin', md5: md5(content), size: content.length};
const manifest = {partSize, md5s: Array.from({length: partCount(content.length, partSize)}, (_, index) => {
	const span = partSpan(index, content.length, partSize);
	return md5(content.subarray(span.start, span.end));
})};
const bytesOf = (index: number) => {
	const span = partSpan(index, content.length, partSize);
	return {span, bytes: content.subarray(span.start, span.end)};
};

test('parts written out of order are reused after a restart only if they still match; the whole is checked and placed', async t => {
	const dir = await shareDir(t);
	await mkdir(partialDir(dir), {recursive: true});
	const first = await PartStore.open(dir, file);
	t.deepEqual(await first.reusableParts(manifest), []);
	for (const index of [3, 0, 1]) {
		const {span, bytes} = bytesOf(index);
		await first.write(span, bytes);
	}

	await first.close();
	t.true(await hasResumableParts(dir, file.name, file.md5));

	// Part 1 is damaged on disk while the peer is down: it is fetched again, 0 and 3 are reused.
	const data = await open(path.join(resumableDir(dir, file.name, file.md5), 'data'), 'r+');
	await data.write(Buffer.from([0xFF]), 0, 1, partSize + 10);
	await data.close();
	t.is(await preparePartialDir(dir), 0);
	const second = await PartStore.open(dir, file);
	t.deepEqual(await second.reusableParts(manifest), [0, 3]);
	for (const index of [5, 1, 2, 4]) {
		const {span, bytes} = bytesOf(index);
		await second.write(span, bytes);
	}

	t.true(await second.matchesWhole(file.md5));
	await second.placeInto(path.join(dir, file.name));
	t.true((await readFile(path.join(dir, file.name))).equals(content));
	t.deepEqual(await readdir(partialDir(dir)), []);
});

test('a whole that does not match the tracker md5 is reported', async t => {
	const dir = await shareDir(t);
	await mkdir(partialDir(dir), {recursive: true});
	const store = await PartStore.open(dir, {...file, md5: 'f'.repeat(32)});
	for (let index = 0; index < manifest.md5s.length; index++) {
		const {span, bytes} = bytesOf(index);
		await store.write(span, bytes);
	}

	t.false(await store.matchesWhole('f'.repeat(32)));
	await store.discard();
	t.deepEqual(await readdir(partialDir(dir)), []);
});

test('at start, single-source leftovers and broken part dirs go; resumable part dirs stay; another version of the name is dropped on open', async t => {
	const dir = await shareDir(t);
	const partial = partialDir(dir);
	await mkdir(partial, {recursive: true});
	const kept = await PartStore.open(dir, file);
	await kept.write(bytesOf(0).span, bytesOf(0).bytes);
	await kept.close();
	await writeFile(path.join(partial, 'song.mp3.0123456789ab.part'), 'half');
	await mkdir(path.join(partial, `other.bin.${'a'.repeat(32)}.parts`));
	t.is(await preparePartialDir(dir), 2);
	t.deepEqual(await readdir(partial), [`big.bin.${file.md5}.parts`]);

	const newer = await PartStore.open(dir, {...file, md5: 'b'.repeat(32)});
	await newer.close();
	t.deepEqual(await readdir(partial), [`big.bin.${'b'.repeat(32)}.parts`]);
});

test('the parts cache hashes one version of a file once, and again when it changes', async t => {
	const dir = await shareDir(t);
	const target = path.join(dir, file.name);
	await writeFile(target, content);
	const cache = new PartsCache();
	let passes = 0;
	const counted = async () => {
		const handle = await open(target, 'r');
		const createReadStream = handle.createReadStream.bind(handle);
		handle.createReadStream = options => {
			passes++;
			return createReadStream(options);
		};

		return handle;
	};

	const handles = await Promise.all([counted(), counted(), counted()]);
	const lists = await Promise.all(handles.map(async handle => cache.md5s(file.name, handle, partSize)));
	t.deepEqual(lists, [manifest.md5s, manifest.md5s, manifest.md5s]);
	t.is(passes, 1);

	const changed = Buffer.from(content);
	changed[0] = changed[0]! ^ 0xFF;
	await writeFile(target, changed);
	await utimes(target, new Date(), new Date(Date.now() + 5000));
	const again = await counted();
	t.is((await cache.md5s(file.name, again, partSize))[0], md5(changed.subarray(0, partSize)));
	t.is(passes, 2);
	await Promise.all([...handles, again].map(async handle => handle.close()));
});

test('a part that does not fit on the disk is an ENOSPC error and never goes on record', async t => {
	const disk = await mountTmpfs(t, 1);
	if (!disk) {
		t.pass();
		return;
	}

	await mkdir(partialDir(disk), {recursive: true});
	const big = deterministicBytes(3 * 1024 * 1024, 5);
	const store = await PartStore.open(disk, {name: 'big.bin', md5: md5(big), size: big.length});
	t.teardown(async () => store.close());
	// The first MiB fits in part (the tmpfs holds 1 MiB in all): a short write, then no room at all.
	await t.throwsAsync(store.write({start: 0, end: 2 * 1024 * 1024}, big.subarray(0, 2 * 1024 * 1024)), {code: 'ENOSPC'});
	const state = JSON.parse(await readFile(path.join(resumableDir(disk, 'big.bin', md5(big)), 'state.json'), 'utf8').catch(() => '{"verified":[]}')) as {verified: unknown[]};
	t.deepEqual(state.verified, []);
	t.is(await resumableBytes(disk, {name: 'big.bin', md5: md5(big), size: big.length}), 0);
});
