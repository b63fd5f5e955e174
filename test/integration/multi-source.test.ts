import {createHash} from 'node:crypto';
import {mkdir, readdir, readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {deterministicBytes} from '../../fixtures/generate.js';
import {eventually, getJson, latencyFile, peerEntry, shareDir, startChild, startTracker, type Child} from '../helpers/processes.js';

const partSize = 256 * 1024;
const fileName = 'big.bin';
/** 16 parts of 256 KiB. */
const content = deterministicBytes(4 * 1024 * 1024, 53);
const parts = 16;
/** Each holder sends at most 512 KiB/s: a part takes half a second, the download seconds. */
const uploadLimit = String(512 * 1024);
const contentMd5 = createHash('md5').update(content).digest('hex');

type Peer = Child & {id: string; url: string; dir: string; run: (line: string) => Promise<Record<string, any>>};

/** A peer with the test part size; holders are upload-limited. */
async function startPeer(t: ExecutionContext, options: {id: string; dir: string; tracker: string; serve?: boolean; args?: string[]}): Promise<Peer> {
	const {id, dir, tracker, serve = false, args = []} = options;
	const child = startChild(t, peerEntry, [
		'--id', id, '--dir', dir, '--tracker', tracker, '--json', '--heartbeat-ms', '200',
		'--latency', latencyFile, '--latency-scale', '0.01', '--part-size', String(partSize),
		...(serve ? ['--serve'] : []), ...args,
	]);
	const ready = JSON.parse(await child.stdout.next(line => line.includes('"event":"ready"'))) as {url: string};
	return {
		...child,
		id,
		url: ready.url,
		dir,
		async run(line) {
			child.child.stdin.write(`${line}\n`);
			return JSON.parse(await child.stdout.next(candidate => candidate.startsWith('{"cmd"'), 90_000)) as Record<string, any>;
		},
	};
}

async function holderDir(t: ExecutionContext): Promise<string> {
	const dir = await shareDir(t);
	await writeFile(path.join(dir, fileName), content);
	return dir;
}

async function startHolders(t: ExecutionContext, tracker: string, faults: Record<string, string[]> = {}): Promise<Peer[]> {
	return Promise.all(['A', 'B', 'C'].map(async id => startPeer(t, {id, dir: await holderDir(t), tracker, serve: true, args: ['--upload-limit', uploadLimit, ...(faults[id] ?? [])]})));
}

async function waitForHolders(tracker: string, count: number): Promise<void> {
	await eventually(async () => ((await getJson(`${tracker}/files/${fileName}`)).body?.peers?.length === count ? true : undefined));
}

/** Parts the downloader has verified and recorded so far. */
async function verifiedBytes(dir: string): Promise<number> {
	try {
		const state = JSON.parse(await readFile(path.join(dir, '.xfs/partial', `${fileName}.${contentMd5}.parts`, 'state.json'), 'utf8')) as {verified: Array<[number, number]>};
		return state.verified.reduce((total, [start, end]) => total + end - start, 0);
	} catch {
		return 0;
	}
}

function partsMd5s(bytes: Buffer, size: number): string[] {
	const md5s: string[] = [];
	for (let start = 0; start < bytes.length; start += size) {
		md5s.push(createHash('md5').update(bytes.subarray(start, start + size)).digest('hex'));
	}

	return md5s;
}

test('a multi-source download reads parts from every holder and lands a byte-identical file', async t => {
	const tracker = await startTracker(t);
	const holders = await startHolders(t, tracker.url);
	await waitForHolders(tracker.url, 3);
	const meDir = await shareDir(t);
	const me = await startPeer(t, {id: 'me', dir: meDir, tracker: tracker.url});

	const partsList = await getJson(`${holders[0]!.url}/files/${fileName}/parts`);
	t.deepEqual(partsList, {status: 200, body: {name: fileName, size: content.length, partSize, md5s: partsMd5s(content, partSize)}});
	t.is((await getJson(`${holders[0]!.url}/files/missing.bin/parts`)).status, 404);
	t.is((await getJson(`${holders[0]!.url}/files/..%2F${fileName}/parts`)).status, 400);
	t.is((await getJson(`${holders[0]!.url}/files/.xfs/parts`)).status, 400);

	const result = await me.run(`download ${fileName}`);
	t.is(result.ok, true, JSON.stringify(result));
	t.is(result.md5, contentMd5);
	t.is(result.partSize, partSize);
	t.deepEqual(result.reused, {parts: 0, bytes: 0});
	t.deepEqual(result.sources.filter((source: any) => source.parts > 0).map((source: any) => source.id).sort(), ['A', 'B', 'C']);
	t.is(result.sources.reduce((total: number, source: any) => total + source.parts, 0), parts);
	t.deepEqual(new Set(result.attempts.map((attempt: any) => attempt.outcome)), new Set(['ok']));
	t.true((await readFile(path.join(meDir, fileName))).equals(content));
	t.deepEqual(await readdir(path.join(meDir, '.xfs/partial')), []);
	await eventually(async () => ((await getJson(`${tracker.url}/files/${fileName}`)).body.peers.some((peer: any) => peer.id === 'me') ? true : undefined));
	// A raced request the receiver cancelled at the end leaves the holder's load a moment later.
	const loads = async () => Promise.all([...holders, me].map(async peer => (await getJson(`${peer.url}/load`)).body.load as number));
	t.deepEqual(await eventually(async () => {
		const seen = await loads();
		return seen.every(load => load === 0) ? seen : undefined;
	}), [0, 0, 0, 0]);
});

/** Three holders, A with `fault`; a fresh peer downloads the file, which must arrive whole. */
async function downloadBesideFaultyA(t: ExecutionContext, fault: string): Promise<any> {
	const tracker = await startTracker(t);
	await startHolders(t, tracker.url, {A: ['--fault', fault]});
	await waitForHolders(tracker.url, 3);
	const meDir = await shareDir(t);
	const me = await startPeer(t, {id: 'me', dir: meDir, tracker: tracker.url});

	const result = await me.run(`download ${fileName}`);
	t.is(result.ok, true, JSON.stringify(result));
	t.true((await readFile(path.join(meDir, fileName))).equals(content));
	return result;
}

test('a corrupt holder among three: its parts are fetched elsewhere and never reach the file', async t => {
	const result = await downloadBesideFaultyA(t, 'corrupt=1');
	const fromA = result.attempts.filter((attempt: any) => attempt.peer === 'A').map((attempt: any) => attempt.outcome);
	t.deepEqual(fromA, ['checksum-mismatch', 'checksum-mismatch']);
	t.is(result.sources.find((source: any) => source.id === 'A')?.parts ?? 0, 0);
	t.is(result.sources.reduce((total: number, source: any) => total + source.parts, 0), parts);
});

test('a holder that stalls mid-part cannot hold the download back: its part is raced or re-fetched elsewhere', async t => {
	const result = await downloadBesideFaultyA(t, 'stall-after=30000');
	t.is(result.sources.find((source: any) => source.id === 'A')?.parts ?? 0, 0);
	t.is(result.sources.reduce((total: number, source: any) => total + source.parts, 0), parts);
	t.true(result.attempts.filter((attempt: any) => attempt.peer === 'A').every((attempt: any) => attempt.outcome === 'stalled'));
});

test('a holder killed mid-download: its parts go to the others; loads are one download and one upload per holder', async t => {
	const tracker = await startTracker(t);
	const holders = await startHolders(t, tracker.url);
	await waitForHolders(tracker.url, 3);
	const meDir = await shareDir(t);
	const me = await startPeer(t, {id: 'me', dir: meDir, tracker: tracker.url});

	const download = me.run(`download ${fileName}`);
	const loads = async () => Promise.all([me, ...holders].map(async peer => (await getJson(`${peer.url}/load`)).body.load as number));
	// Every holder serving a part at once, and the receiver counting one download.
	t.deepEqual(await eventually(async () => {
		const seen = await loads();
		return seen.every(load => load === 1) ? seen : undefined;
	}), [1, 1, 1, 1]);
	const b = holders[1]!;
	await b.kill('SIGKILL');

	const result = await download;
	t.is(result.ok, true, JSON.stringify(result));
	t.true((await readFile(path.join(meDir, fileName))).equals(content));
	t.true(result.attempts.some((attempt: any) => attempt.peer === 'B' && ['dropped', 'down'].includes(attempt.outcome)), JSON.stringify(result.attempts));
	t.is(result.sources.reduce((total: number, source: any) => total + source.parts, 0), parts);
	t.true(result.sources.find((source: any) => source.id === 'A').parts > 0);
	t.true(result.sources.find((source: any) => source.id === 'C').parts > 0);
	t.deepEqual(await eventually(async () => {
		const seen = await Promise.all([me, holders[0]!, holders[2]!].map(async peer => (await getJson(`${peer.url}/load`)).body.load as number));
		return seen.every(load => load === 0) ? seen : undefined;
	}), [0, 0, 0]);
});

test('a downloader killed mid-download resumes from its verified parts on the next download', async t => {
	const tracker = await startTracker(t);
	await startHolders(t, tracker.url);
	await waitForHolders(tracker.url, 3);
	const meDir = await shareDir(t);
	const first = await startPeer(t, {id: 'me', dir: meDir, tracker: tracker.url});
	first.child.stdin.write(`download ${fileName}\n`);
	const verifiedAtKill = await eventually(async () => {
		const bytes = await verifiedBytes(meDir);
		return bytes >= 4 * partSize ? bytes : undefined;
	});
	await first.kill('SIGKILL');
	t.true(verifiedAtKill < content.length);
	t.deepEqual(await readdir(meDir), ['.xfs']);
	// A single-source leftover is still cleaned at boot; the verified parts are kept.
	await writeFile(path.join(meDir, '.xfs/partial', `${fileName}.0123456789ab.part`), 'half a file');
	await mkdir(path.join(meDir, '.xfs/partial/junk.parts'));

	const second = await startPeer(t, {id: 'me', dir: meDir, tracker: tracker.url});
	t.deepEqual(await readdir(path.join(meDir, '.xfs/partial')), [`${fileName}.${contentMd5}.parts`]);
	const result = await second.run(`download ${fileName}`);
	t.is(result.ok, true, JSON.stringify(result));
	t.true((await readFile(path.join(meDir, fileName))).equals(content));
	t.true(result.reused.bytes >= verifiedAtKill, `reused ${result.reused.bytes}, verified at kill ${verifiedAtKill}`);
	t.is(result.reused.bytes, result.reused.parts * partSize);
	const fetched = result.sources.reduce((total: number, source: any) => total + source.parts, 0);
	t.is(fetched + result.reused.parts, parts);
	t.true(result.sources.reduce((total: number, source: any) => total + source.received, 0) < content.length);
	t.deepEqual(await readdir(path.join(meDir, '.xfs/partial')), []);
});
