import {readFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {hashCacheFileName} from '../../source/share/hash-cache.js';
import {listingCacheFileName} from '../../source/share/listing-cache.js';
import {stateDirName} from '../../source/share/share-dir.js';
import {eventually, getJson, shareDir, startPeer, startTracker} from '../helpers/processes.js';

async function fetchBytes(url: string, headers: Record<string, string> = {}): Promise<{status: number; headers: Headers; body: Buffer}> {
	const response = await fetch(url, {headers: {'X-Xfs-Peer': 'me', ...headers}});
	return {status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer())};
}

test('a peer serves byte ranges of a file: first bytes, a middle slice, an open end, a suffix; 416 past the end', async t => {
	const tracker = await startTracker(t);
	const dir = await shareDir(t, 'A');
	const a = await startPeer(t, {id: 'A', dir, tracker: tracker.url, serve: true});
	const song = await readFile(path.join(dir, 'song.mp3'));
	const url = `${a.url}/files/song.mp3`;
	const size = song.length;

	const whole = await fetchBytes(url);
	t.is(whole.status, 200);
	t.is(whole.headers.get('accept-ranges'), 'bytes');
	t.is(whole.headers.get('content-length'), String(size));
	t.true(whole.body.equals(song));

	for (const [range, start, end] of [
		['bytes=0-99', 0, 99],
		['bytes=700000-700015', 700_000, 700_015],
		[`bytes=${size - 10}-`, size - 10, size - 1],
		['bytes=-25', size - 25, size - 1],
		[`bytes=1000-${size + 5000}`, 1000, size - 1],
	] as const) {
		const part = await fetchBytes(url, {Range: range});
		t.is(part.status, 206, range);
		t.is(part.headers.get('content-range'), `bytes ${start}-${end}/${size}`, range);
		t.is(part.headers.get('content-length'), String(end - start + 1), range);
		t.true(part.body.equals(song.subarray(start, end + 1)), range);
	}

	const past = await fetchBytes(url, {Range: `bytes=${size}-`});
	t.is(past.status, 416);
	t.is(past.headers.get('content-range'), `bytes */${size}`);

	// Several ranges at once are not served as multipart: the whole file, as RFC 9110 allows.
	const several = await fetchBytes(url, {Range: 'bytes=0-1,5-6'});
	t.is(several.status, 200);
	t.is(several.body.length, size);
});

test('the hash cache and listing in the hidden state folder are never listed, announced or served', async t => {
	const tracker = await startTracker(t);
	const dir = await shareDir(t, 'A');
	const a = await startPeer(t, {id: 'A', dir, tracker: tracker.url});
	const cacheFile = path.join(dir, stateDirName, hashCacheFileName);
	// The fixture copy is fresh (not cacheable yet); updatelist after it ages writes the cache.
	const saved = await eventually(async () => {
		await a.run('updatelist');
		const text = await readFile(cacheFile, 'utf8').catch(() => undefined);
		return text && Object.keys((JSON.parse(text) as {files: Record<string, unknown>}).files).length === 3 ? text : undefined;
	}, {timeoutMs: 20_000, intervalMs: 500});
	t.true(saved.includes('song.mp3'));

	const listed = await a.run('ls');
	t.deepEqual(listed.files.map((file: {name: string}) => file.name), ['notes.md', 'readme.txt', 'song.mp3']);
	const known = await getJson(`${tracker.url}/files`);
	t.deepEqual(known.body.files.map((file: {name: string}) => file.name), ['notes.md', 'readme.txt', 'song.mp3']);

	// The listing saved beside it for the next start is as private.
	const listing = await readFile(path.join(dir, stateDirName, listingCacheFileName), 'utf8');
	t.true(listing.includes('song.mp3'));
	t.is((await fetchBytes(`${a.url}/files/${listingCacheFileName}`)).status, 404);
	t.is((await fetchBytes(`${a.url}/files/${encodeURIComponent(`${stateDirName}/${listingCacheFileName}`)}`)).status, 400);
	t.is((await fetchBytes(`${a.url}/files/${hashCacheFileName}`)).status, 404);
	t.is((await fetchBytes(`${a.url}/files/${stateDirName}`)).status, 400);
	t.is((await fetchBytes(`${a.url}/files/${encodeURIComponent(`${stateDirName}/${hashCacheFileName}`)}`)).status, 400);
	t.is((await fetchBytes(`${a.url}/files/..%2F${path.basename(dir)}%2F${stateDirName}%2F${hashCacheFileName}`)).status, 400);
});
