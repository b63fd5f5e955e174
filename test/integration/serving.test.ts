import {readFile, utimes, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {hashCacheFileName} from '../../source/share/hash-cache.js';
import {listingCacheFileName} from '../../source/share/listing-cache.js';
import {stateDirName} from '../../source/share/share-dir.js';
import {rawRequest, startPeerApp, tempDir} from '../helpers/peer-app.js';
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

/** A served file of 100 known bytes with a known mtime, on an in-process peer server. */
async function hundredBytes(t: ExecutionContext) {
	const dir = await tempDir(t, 'xfs-range-');
	const bytes = Buffer.from(Array.from({length: 100}, (_, index) => index));
	await writeFile(path.join(dir, 'data.bin'), bytes);
	await utimes(path.join(dir, 'data.bin'), modified, modified);
	await writeFile(path.join(dir, 'empty.bin'), '');
	const {url} = await startPeerApp(t, dir);
	const get = async (headers: Record<string, string>, name = 'data.bin') => rawRequest(url, `/files/${name}`, {headers});
	return {bytes, get};
}

const modified = new Date('2024-01-02T03:04:05Z');
const lastModified = 'Tue, 02 Jan 2024 03:04:05 GMT';

test('one range is 206 with Content-Range; an over-long suffix is the whole file; Last-Modified on every reply', async t => {
	const {bytes, get} = await hundredBytes(t);
	for (const [range, start, end] of [
		['bytes=0-0', 0, 0],
		['bytes=10-19', 10, 19],
		['bytes=90-', 90, 99],
		['bytes=-1', 99, 99],
		['bytes=-100', 0, 99],
		['bytes=-500', 0, 99],
		['bytes=95-5000', 95, 99],
		['bytes= 3 - 4', 3, 4],
		// Of several ranges, the unsatisfiable ones are dropped: one is left.
		['bytes=5-6,200-300', 5, 6],
	] as const) {
		const reply = await get({range});
		t.is(reply.status, 206, range);
		t.is(reply.headers['content-range'], `bytes ${start}-${end}/100`, range);
		t.is(reply.headers['content-length'], String(end - start + 1), range);
		t.is(reply.headers['last-modified'], lastModified, range);
		t.deepEqual(reply.body, bytes.subarray(start, end + 1), range);
	}

	const whole = await get({});
	t.is(whole.status, 200);
	t.is(whole.headers['last-modified'], lastModified);
	t.is(whole.headers.etag, undefined);
	t.deepEqual(whole.body, bytes);
});

test('a Range we do not serve is the whole file: malformed, not bytes, several ranges', async t => {
	const {bytes, get} = await hundredBytes(t);
	for (const range of ['bytes=abc', 'bytes=-', 'bytes=1-2-3', 'bytes=1e3-', 'bytes', 'items=0-5', 'bytes=0-1,5-6', 'bytes=0-5,3-10']) {
		const reply = await get({range});
		t.is(reply.status, 200, range);
		t.is(reply.headers['content-range'], undefined, range);
		t.is(reply.headers['content-length'], '100', range);
		t.deepEqual(reply.body, bytes, range);
	}
});

test('an unsatisfiable range is 416 with Content-Range bytes */size and the JSON error', async t => {
	const {get} = await hundredBytes(t);
	for (const [range, name, size] of [
		['bytes=100-', 'data.bin', 100],
		['bytes=100-200', 'data.bin', 100],
		['bytes=-0', 'data.bin', 100],
		['bytes=50-40', 'data.bin', 100],
		['bytes=99999999999999999999-', 'data.bin', 100],
		['bytes=0-', 'empty.bin', 0],
		['bytes=-5', 'empty.bin', 0],
	] as const) {
		const reply = await get({range}, name);
		t.is(reply.status, 416, range);
		t.is(reply.headers['content-range'], `bytes */${size}`, range);
		t.deepEqual(JSON.parse(reply.body.toString()), {error: {code: 'BAD_INPUT', message: `range not satisfiable for ${size} bytes`}}, range);
	}

	const empty = await get({}, 'empty.bin');
	t.is(empty.status, 200);
	t.is(empty.body.length, 0);
});

test('If-Range: the file\'s Last-Modified gets the range; another date, an entity tag or garbage gets the whole file with 200', async t => {
	const {bytes, get} = await hundredBytes(t);
	const same = await get({range: 'bytes=10-19', 'if-range': lastModified});
	t.is(same.status, 206);
	t.is(same.headers['content-range'], 'bytes 10-19/100');
	t.deepEqual(same.body, bytes.subarray(10, 20));
	// The obsolete RFC 850 form of the same date matches too.
	t.is((await get({range: 'bytes=10-19', 'if-range': 'Tuesday, 02-Jan-24 03:04:05 GMT'})).status, 206);

	for (const ifRange of ['Tue, 02 Jan 2024 03:04:06 GMT', 'Mon, 01 Jan 2024 03:04:05 GMT', '"abc"', 'W/"abc"', `"${lastModified}"`, 'not a date']) {
		const reply = await get({range: 'bytes=10-19', 'if-range': ifRange});
		t.is(reply.status, 200, ifRange);
		t.is(reply.headers['content-range'], undefined, ifRange);
		t.deepEqual(reply.body, bytes, ifRange);
	}

	// A failed If-Range drops the Range, so an unsatisfiable one is no 416 either; without a Range, If-Range is ignored.
	t.is((await get({range: 'bytes=500-', 'if-range': '"abc"'})).status, 200);
	t.is((await get({'if-range': '"abc"'})).status, 200);
});
