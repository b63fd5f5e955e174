import test from 'ava';
import {decodePartMap} from '../../source/core/part-map.js';
import {eventually, getJson, shareDir, startTracker} from '../helpers/processes.js';
import {content, contentMd5, fileName, find, partialEntry, parts, partSize, partsOf, range, seed, startPeer} from '../helpers/swarm.js';

test('a downloader is listed as a partial holder and serves only its verified parts (416 outside them)', async t => {
	const tracker = await startTracker(t);
	await seed(t, tracker.url);
	const d = await startPeer(t, {id: 'D', dir: await shareDir(t), tracker: tracker.url});
	d.send(`download ${fileName}`);
	const entry = await partialEntry(tracker.url, 'D');
	t.is(entry.of, parts);
	t.is(entry.url, d.url);

	const list = await partsOf(d.url);
	t.is(list.partSize, partSize);
	t.is(list.md5s.length, parts);
	const have = decodePartMap(list.partial!.bitmap, parts)!;
	t.is(have.size, list.partial!.have);
	t.true(have.size > 0 && have.size < parts);
	const held = [...have][0]!;

	const inside = await range(d.url, held * partSize, ((held + 1) * partSize) - 1);
	t.is(inside.status, 206);
	t.true(inside.bytes.equals(content.subarray(held * partSize, (held + 1) * partSize)));

	// The download goes on meanwhile: a part missing from the map just read may be verified by the time
	// it is asked for. Then it must be in the map by now, and another missing part is asked for.
	let missing = 0;
	let outside: Awaited<ReturnType<typeof range>> | undefined;
	for (let tries = 0; tries < 5 && outside?.status !== 416; tries++) {
		const now = decodePartMap((await partsOf(d.url)).partial!.bitmap, parts)!;
		missing = Array.from({length: parts}, (_, index) => index).find(index => !now.has(index))!;
		outside = await range(d.url, missing * partSize, (missing * partSize) + 10);
		if (outside.status === 206) {
			t.true(decodePartMap((await partsOf(d.url)).partial!.bitmap, parts)!.has(missing), `part ${missing} was sent before it was verified`);
		}
	}

	// The loop runs at least once.
	const refused = outside!;
	t.is(refused.status, 416);
	const refusal = JSON.parse(refused.bytes.toString()) as {error: {code: string}; partial: {have: number; of: number; bitmap: string}};
	t.is(refusal.error.code, 'BAD_INPUT');
	t.is(refusal.partial.of, parts);
	t.false(decodePartMap(refusal.partial.bitmap, parts)!.has(missing));
	t.is(refused.contentRange, `bytes */${content.length}`);

	// Across a held part into a missing one: refused as a whole, unless the download has verified every
	// part of the range meanwhile (a busy machine); then what it sends is exactly the content.
	const mapBefore = decodePartMap((await partsOf(d.url)).partial?.bitmap ?? '', parts);
	const across = await range(d.url, held * partSize, content.length - 1);
	if (across.status === 206) {
		t.true(across.bytes.equals(content.subarray(held * partSize)), 'a range sent across parts is the content');
		t.log(`the download verified parts ${held}..${parts - 1} before the range across them was asked for (${mapBefore?.size ?? 'all'} of ${parts} held before)`);
	} else {
		t.is(across.status, 416);
	}

	const whole = await fetch(`${d.url}/files/${fileName}`);
	const wholeBytes = Buffer.from(await whole.arrayBuffer());
	if (whole.status === 200) {
		t.true(wholeBytes.equals(content), 'the whole file sent is the content');
	} else {
		t.is(whole.status, 416);
	}

	const result = JSON.parse(await d.stdout.next(line => line.startsWith('{"cmd"'), 90_000)) as Record<string, any>;
	t.true(result.ok, JSON.stringify(result));
	t.is(result.md5, contentMd5);
	// Published whole: a holder now, no longer partial.
	const after = await eventually(async () => {
		const found = await find(tracker.url);
		return found.peers.some(peer => peer.id === 'D') && !found.partial ? found : undefined;
	});
	t.deepEqual(after.peers.map(peer => peer.id), ['D', 'S']);
	t.is((await partsOf(d.url)).partial, undefined);
});

/** Two downloaders, one after the other: the second takes parts from the first while the first is still downloading. */
test('a downloader takes parts from a partial holder, which the seed need not send again', async t => {
	const tracker = await startTracker(t);
	const s = await seed(t, tracker.url);
	const d = await startPeer(t, {id: 'D', dir: await shareDir(t), tracker: tracker.url, args: ['--upload-limit', String(4 * 1024 * 1024)]});
	d.send(`download ${fileName}`);
	await partialEntry(tracker.url, 'D', 4);
	const e = await startPeer(t, {id: 'E', dir: await shareDir(t), tracker: tracker.url});
	const result = await e.run(`download ${fileName}`);
	t.true(result.ok, JSON.stringify(result));
	t.is(result.md5, contentMd5);
	const fromD = (result.sources as Array<{id: string; parts: number}>).find(source => source.id === 'D');
	t.true((fromD?.parts ?? 0) > 0, JSON.stringify(result.sources));
	const first = JSON.parse(await d.stdout.next(line => line.startsWith('{"cmd"'), 90_000)) as Record<string, any>;
	t.true(first.ok);
	// The seed sent less than the file twice over: E's parts from D cost the seed nothing.
	const {body} = await getJson(`${s.url}/load`);
	t.true(body.uploaded < 2 * content.length, `seed sent ${body.uploaded}`);
});

test('--no-swarm: no partial entry, no part served while downloading, no parts taken from partial holders', async t => {
	const tracker = await startTracker(t);
	await seed(t, tracker.url);
	const d = await startPeer(t, {id: 'D', dir: await shareDir(t), tracker: tracker.url, args: ['--no-swarm', '--max-sources', '4']});
	const e = await startPeer(t, {id: 'E', dir: await shareDir(t), tracker: tracker.url});
	e.send(`download ${fileName}`);
	await partialEntry(tracker.url, 'E', 2);
	d.send(`download ${fileName}`);
	// D's download runs (from the seed alone): it never appears as partial, and serves nothing of the file meanwhile.
	await eventually(async () => ((await getJson(`${d.url}/load`)).body.load > 0 ? true : undefined));
	t.is((await find(tracker.url)).partial?.some(entry => entry.id === 'D'), false);
	t.is((await getJson(`${d.url}/files/${fileName}/parts`)).status, 404);
	t.is((await range(d.url, 0, 10)).status, 404);
	const result = JSON.parse(await d.stdout.next(line => line.startsWith('{"cmd"'), 90_000)) as Record<string, any>;
	t.true(result.ok, JSON.stringify(result));
	t.is(result.from, 'S');
	t.deepEqual((result.sources as Array<{id: string}> | undefined)?.map(source => source.id) ?? ['S'], ['S']);
});

async function rangeAs(url: string, requester: string, start: number, end: number): Promise<number> {
	const response = await fetch(`${url}/files/${fileName}`, {headers: {range: `bytes=${start}-${end}`, 'x-xfs-peer': requester}});
	await response.arrayBuffer();
	return response.status;
}

test('one upload slot: a slot that frees is kept for the downloader that was refused, not taken by the one that just finished', async t => {
	const tracker = await startTracker(t);
	const s = await seed(t, tracker.url, 'S', ['--max-uploads', '1']);
	// F holds the slot for a part (half a second at the seed's limit); W is refused meanwhile.
	const fast = rangeAs(s.url, 'F', 0, partSize - 1);
	await eventually(async () => ((await getJson(`${s.url}/load`)).body.load > 0 ? true : undefined), {intervalMs: 10});
	t.is(await rangeAs(s.url, 'W', 0, 10), 503);
	t.is(await fast, 206);
	// F asks again at once: refused, the slot is W's.
	t.is(await rangeAs(s.url, 'F', partSize, (2 * partSize) - 1), 503);
	t.is(await rangeAs(s.url, 'W', 0, partSize - 1), 206);
});

async function suggestionTo(url: string, requester: string, start: number, end: number): Promise<string | null> {
	const response = await fetch(`${url}/files/${fileName}`, {headers: {range: `bytes=${start}-${end}`, 'x-xfs-peer': requester}});
	await response.arrayBuffer();
	return response.headers.get('x-xfs-suggest');
}

test('super-seeding: a seed sends with each whole part the parts it has sent least, different ones to different downloaders; none with --no-swarm', async t => {
	const tracker = await startTracker(t);
	const s = await seed(t, tracker.url, 'S');
	const first = (await suggestionTo(s.url, 'A', 0, partSize - 1))?.split(',').map(Number) ?? [];
	t.is(first.length, 4);
	t.false(first.includes(0));
	const second = (await suggestionTo(s.url, 'B', partSize, (2 * partSize) - 1))?.split(',').map(Number) ?? [];
	t.is(second.length, 4);
	t.false(second.some(part => part <= 1 || first.includes(part)), `A was suggested ${first.join(',')}, B ${second.join(',')}`);
	// Not a whole part: nothing suggested.
	t.is(await suggestionTo(s.url, 'C', 0, 10), null);
	const quiet = await seed(t, tracker.url, 'Q', ['--no-swarm']);
	t.is(await suggestionTo(quiet.url, 'A', 0, partSize - 1), null);
});
