import {createHash, randomBytes} from 'node:crypto';
import {readFile, rm, stat, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {placementFor} from '../../source/core/placement.js';
import {eventually, getJson, shareDir, startPeer, startTracker, type PeerProcess} from '../helpers/processes.js';

/** Tracker and peers fast enough for a test: a dead peer is dropped after 1 s, pins are checked every 200 ms, a repair waits 300 ms. */
const ttlArgs = ['--ttl-ms', '1000'];
const replicaArgs = ['--repair-grace-ms', '300', '--handoff-ms', '8000'];

type Copies = {md5: string; pinned?: number; copies: string[]};

/** The pinned copies the tracker reports for a name (none when it does not know it). */
async function copiesAt(trackerUrl: string, name: string): Promise<Copies | undefined> {
	const {status, body} = await getJson(`${trackerUrl}/files/${name}`);
	return status === 200 ? {md5: body.md5, pinned: body.pinned, copies: body.copies ?? []} : undefined;
}

/** Waits until the tracker reports exactly `ids` as the pinned copies of `name`. */
async function copiesBecome(trackerUrl: string, name: string, ids: string[], timeoutMs = 30_000): Promise<Copies> {
	const want = [...ids].sort().join(',');
	return eventually(async () => {
		const found = await copiesAt(trackerUrl, name);
		return found?.copies.join(',') === want ? found : undefined;
	}, {timeoutMs});
}

async function servePeer(t: Parameters<typeof startPeer>[0], id: string, tracker: string, args: string[] = []): Promise<PeerProcess & {dir: string}> {
	const shared = await shareDir(t);
	const peer = await startPeer(t, {id, dir: shared, tracker, serve: true, args: [...replicaArgs, ...args]});
	return {...peer, dir: shared};
}

test('put among 6 peers places exactly the XOR-closest 3; the putter killed, 3 copies remain; 2 of 3 holders killed at once, back to 3 on the next closest; a closer peer joins and takes a copy, never below 3', async t => {
	const tracker = await startTracker(t, ttlArgs);
	const ids = ['P1', 'P2', 'P4', 'P5', 'P6'];
	const peers = new Map<string, PeerProcess & {dir: string}>();
	for (const id of ids) {
		peers.set(id, await servePeer(t, id, tracker.url));
	}

	// The putter, P3, is the farthest of the six from notes.txt: it keeps its file as an ordinary one.
	const putterDir = await shareDir(t);
	const content = randomBytes(300_000);
	const outside = path.join(await shareDir(t), 'notes.txt');
	await writeFile(outside, content);
	const putter = await startPeer(t, {id: 'P3', dir: putterDir, tracker: tracker.url, args: replicaArgs});
	const placement = placementFor('notes.txt', [...ids, 'P3'], 3);
	t.deepEqual(placement, ['P4', 'P1', 'P5']);

	const put = await putter.run(`put ${outside}`);
	t.like(put, {cmd: 'put', ok: true, name: 'notes.txt', size: content.length, r: 3, replicas: placement});
	t.is(put.underReplicated, undefined);
	t.deepEqual(await readFile(path.join(putterDir, 'notes.txt')), content);
	const found = await putter.run('find notes.txt');
	t.like(found, {ok: true, pinned: 3, copies: ['P1', 'P4', 'P5']});
	for (const id of placement) {
		t.deepEqual(await readFile(path.join(peers.get(id)!.dir, 'notes.txt')), content);
	}

	// The putter dies: the copies stay where they are.
	await putter.kill('SIGKILL');
	await eventually(async () => ((await getJson(`${tracker.url}/peers`)).body.peers.some((peer: {id: string}) => peer.id === 'P3') ? undefined : true));
	t.deepEqual((await copiesAt(tracker.url, 'notes.txt'))?.copies, ['P1', 'P4', 'P5']);

	// Two of the three holders die at once: the next closest (P2, P6) take copies from P5.
	await Promise.all([peers.get('P4')!.kill('SIGKILL'), peers.get('P1')!.kill('SIGKILL')]);
	await copiesBecome(tracker.url, 'notes.txt', ['P2', 'P5', 'P6']);
	t.deepEqual(await readFile(path.join(peers.get('P2')!.dir, 'notes.txt')), content);
	t.deepEqual(await readFile(path.join(peers.get('P6')!.dir, 'notes.txt')), content);

	// Q21 is closer to notes.txt than any of them: it joins, takes a copy, and P6 (now fourth) lets its copy go.
	const counts: number[] = [];
	let watching = true;
	const watcher = (async () => {
		while (watching) {
			// A poll that fails to reach the tracker (a busy machine) counts nothing; the next one looks again.
			const now = await copiesAt(tracker.url, 'notes.txt').catch(() => 'unanswered' as const);
			if (now !== 'unanswered') {
				counts.push(now?.copies.length ?? 0);
			}

			await new Promise(resolve => {
				setTimeout(resolve, 25);
			});
		}
	})();
	const joiner = await servePeer(t, 'Q21', tracker.url);
	t.deepEqual(placementFor('notes.txt', ['P2', 'P5', 'P6', 'Q21'], 3), ['Q21', 'P5', 'P2']);
	await copiesBecome(tracker.url, 'notes.txt', ['P2', 'P5', 'Q21']);
	watching = false;
	await watcher;
	t.true(counts.length > 0 && counts.every(count => count >= 3), `copies seen: ${counts.join(' ')}`);
	t.deepEqual(await readFile(path.join(joiner.dir, 'notes.txt')), content);
	// A copy taken for others is removed when released: at rest, r copies (the owner's own is gone with it).
	await eventually(async () => stat(path.join(peers.get('P6')!.dir, 'notes.txt')).then(() => undefined, () => true));
});

test('--replica-space 0 is skipped; a tracker restart keeps the pins; a graceful leave hands its copy on first; an edit moves the copies to the new version; unpin leaves ordinary files', async t => {
	let tracker = await startTracker(t, ttlArgs);
	const peers = new Map<string, PeerProcess & {dir: string}>();
	for (const id of ['S1', 'S2', 'S3', 'S4', 'S5']) {
		peers.set(id, await servePeer(t, id, tracker.url, id === 'S2' ? ['--replica-space', '0'] : []));
	}

	const meDir = await shareDir(t);
	const content = randomBytes(100_000);
	await writeFile(path.join(meDir, 'paper.txt'), content);
	const me = await startPeer(t, {id: 'me', dir: meDir, tracker: tracker.url, args: [...replicaArgs, '--settle-ms', '100']});
	// By distance S4, S2, S3, S1, S5, me: S2 refuses, S1 takes its place.
	t.deepEqual(placementFor('paper.txt', [...peers.keys(), 'me'], 3), ['S4', 'S2', 'S3']);
	const put = await me.run('put paper.txt');
	t.like(put, {ok: true, name: 'paper.txt', r: 3, replicas: ['S4', 'S3', 'S1']});
	await t.throwsAsync(stat(path.join(peers.get('S2')!.dir, 'paper.txt')));
	const pins = JSON.parse(await readFile(path.join(peers.get('S4')!.dir, '.xfs', 'pins.json'), 'utf8'));
	t.like(pins.pins['paper.txt'], {r: 3, role: 'replica', owner: 'me', size: content.length});

	// The tracker restarts with nothing: the holders' lists bring the pins back.
	await tracker.kill('SIGKILL');
	tracker = await startTracker(t, [...ttlArgs, '--port', String(tracker.port)]);
	await copiesBecome(tracker.url, 'paper.txt', ['S1', 'S3', 'S4']);
	t.like(await copiesAt(tracker.url, 'paper.txt'), {pinned: 3});

	// S4 leaves gracefully: S5 (next after the refusing S2) has its copy before S4 is gone.
	const s4 = peers.get('S4')!;
	s4.child.kill('SIGTERM');
	t.is((await s4.exited).code, 0);
	t.deepEqual((await copiesAt(tracker.url, 'paper.txt'))?.copies, ['S1', 'S3', 'S5']);
	t.true(s4.stderr.lines.some(line => line.includes('leaving: handing on 1 pinned file(s) first (waits up to 8 s)')), s4.stderr.lines.join('\n'));
	t.true(s4.stderr.lines.some(line => line.includes('leaving: handed on 1 pinned file(s)')), s4.stderr.lines.join('\n'));
	t.deepEqual(await readFile(path.join(peers.get('S5')!.dir, 'paper.txt')), content);

	// The owner edits the file: the copies follow it, each swapping its old copy once the new one is verified.
	const edited = randomBytes(120_000);
	await writeFile(path.join(meDir, 'paper.txt'), edited);
	const newMd5 = createHash('md5').update(edited).digest('hex');
	await eventually(async () => {
		const now = await copiesAt(tracker.url, 'paper.txt');
		return now?.md5 === newMd5 && now.copies.join(',') === 'S1,S3,S5' ? true : undefined;
	});
	for (const id of ['S1', 'S3', 'S5']) {
		t.deepEqual(await readFile(path.join(peers.get(id)!.dir, 'paper.txt')), edited);
	}

	// Unpin: no longer pinned anywhere, every copy stays as an ordinary shared file.
	const unpinned = await me.run('unpin paper.txt');
	t.like(unpinned, {ok: true, name: 'paper.txt', unpinned: ['S1', 'S3', 'S5']});
	await eventually(async () => ((await copiesAt(tracker.url, 'paper.txt'))?.pinned === undefined ? true : undefined));
	const holders = (await getJson(`${tracker.url}/files/paper.txt`)).body.peers.map((peer: {id: string}) => peer.id);
	t.deepEqual(holders, ['S1', 'S3', 'S5', 'me']);
	t.like(await me.run('put paper.txt'), {ok: true, replicas: ['S3', 'S1', 'S5']});
	t.like(await me.run('unpin nothing.txt'), {ok: false, error: {code: 'NOT_FOUND'}});
});

test('put with no other peer is TOO_FEW_PEERS; with fewer live peers than r it pins on all and says under-replicated', async t => {
	const tracker = await startTracker(t, ttlArgs);
	const meDir = await shareDir(t);
	await writeFile(path.join(meDir, 'a.txt'), 'alone\n');
	const me = await startPeer(t, {id: 'me', dir: meDir, tracker: tracker.url, args: replicaArgs});
	t.like(await me.run('put a.txt'), {ok: false, error: {code: 'TOO_FEW_PEERS'}});
	t.like(await me.run('put missing.txt'), {ok: false, error: {code: 'NOT_FOUND'}});
	await servePeer(t, 'B', tracker.url);
	const put = await me.run('put a.txt');
	t.like(put, {ok: true, r: 3, underReplicated: '2/3'});
	t.deepEqual([...put.replicas].sort(), ['B', 'me']);
});

test('POST /replicas from a stranger: bad input is a 4xx, a copy beyond --replica-space is refused, a file no one holds leaves nothing behind, a flood gets 503 BUSY', async t => {
	const tracker = await startTracker(t, ttlArgs);
	const peer = await servePeer(t, 'R1', tracker.url, ['--replica-space', '5000']);
	const post = async (body: unknown) => {
		const response = await fetch(`${peer.url}/replicas`, {method: 'POST', headers: {'content-type': 'application/json'}, body: typeof body === 'string' ? body : JSON.stringify(body)});
		return {status: response.status, body: await response.json() as Record<string, any>};
	};

	const md5 = 'c'.repeat(32);
	t.like(await post('{"name":'), {status: 400, body: {error: {code: 'BAD_INPUT'}}});
	t.like(await post({name: '../etc/passwd', md5, size: 1, r: 3}), {status: 400, body: {error: {code: 'BAD_INPUT'}}});
	t.like(await post({name: 'x.bin', md5, size: 1, r: 99}), {status: 400, body: {error: {code: 'BAD_INPUT'}}});
	t.like(await post({name: 'x.bin', md5, size: 6000, r: 3}), {status: 200, body: {accepted: false, reason: 'over --replica-space (0 of 5000 bytes held)'}});
	t.like(await post({name: 'x.bin', md5, size: 10, r: 3}), {status: 202, body: {accepted: true, state: 'fetching'}});
	await peer.stderr.next(/could not take a copy of x\.bin/);
	t.is((await getJson(`${tracker.url}/files/x.bin`)).status, 404);
	await t.throwsAsync(stat(path.join(peer.dir, 'x.bin')));
	// A flood: at most 32 requests a second are answered (the bucket holds 32), the rest are 503 BUSY, however fast they come.
	const started = performance.now();
	const flood = await Promise.all(Array.from({length: 300}, async (_, index) => post({name: `f${index}.bin`, md5, size: 6000, r: 3})));
	const elapsedSeconds = (performance.now() - started) / 1000;
	const answered = flood.filter(reply => reply.status !== 503);
	t.true(answered.length <= 32 + Math.ceil(32 * elapsedSeconds), `${answered.length} answered in ${elapsedSeconds} s`);
	t.true(flood.every(reply => (reply.status === 503 && reply.body.error?.code === 'BUSY') || reply.body.accepted === false));
	// Still serving after all that.
	t.is((await getJson(`${peer.url}/load`)).body.id, 'R1');
});

test('a file larger than a part is copied along a chain: 2 of 3 holders killed, the second new holder takes its parts from the first', async t => {
	const tracker = await startTracker(t, ttlArgs);
	// Checks every second: a new holder then waits up to 10 s for the one before it in the chain to be listed with a part (a busy machine).
	const partArgs = ['--part-size', String(64 * 1024), '--repair-ms', '1000'];
	const ids = ['C1', 'C2', 'C3', 'C4', 'C5', 'C6'];
	const peers = new Map<string, PeerProcess & {dir: string}>();
	for (const id of ids) {
		peers.set(id, await servePeer(t, id, tracker.url, partArgs));
	}

	const ownerDir = await shareDir(t);
	const content = randomBytes(1024 * 1024);
	await writeFile(path.join(ownerDir, 'large.bin'), content);
	const owner = await startPeer(t, {id: 'CO', dir: ownerDir, tracker: tracker.url, args: [...replicaArgs, ...partArgs]});
	const placement = placementFor('large.bin', [...ids, 'CO'], 3);
	t.false(placement.includes('CO'));
	t.like(await owner.run('put large.bin'), {ok: true, replicas: placement});

	// The owner's own file goes, so the survivor is the one holder left.
	await rm(path.join(ownerDir, 'large.bin'));
	await eventually(async () => ((await getJson(`${tracker.url}/files/large.bin`)).body.peers?.some((peer: {id: string}) => peer.id === 'CO') ? undefined : true));
	const [survivor, ...victims] = [placement[2]!, placement[0]!, placement[1]!];
	const marks = new Map([...peers].map(([id, peer]) => [id, peer.stderr.lines.length]));
	await Promise.all(victims.map(async id => peers.get(id)!.kill('SIGKILL')));
	const live = ids.filter(id => !victims.includes(id));
	const [first, second] = placementFor('large.bin', [...live, 'CO'], 3).filter(id => id !== survivor);
	await copiesBecome(tracker.url, 'large.bin', [survivor, first!, second!]);
	const after = (id: string) => (id === 'CO' ? owner.stderr.lines : peers.get(id)!.stderr.lines.slice(marks.get(id)));
	// Two peers asked at once: the second goes via the first (a busy machine may have had one take its copy earlier, then only one is asked).
	const asked = after(survivor).find(line => /repair: large\.bin has \d\/3 copies on its placement; asking \S+, \S+ /.test(line));
	if (asked) {
		t.true(asked.includes(`asking ${first!}, ${second!} (via ${first!}) to take one`), asked);
		// It waited for the first to be listed with a part, then took the parts from it.
		// Its notice may come after the tracker lists the copy.
		const took = await eventually(() => after(second!).find(line => line.includes('took a copy of large.bin')), {timeoutMs: 15_000});
		t.true(took?.includes(` via ${first!};`), took);
	}

	t.true(asked !== undefined || after(survivor).some(line => line.includes('repair: large.bin has 2/3 copies')), after(survivor).join('\n'));
	for (const id of [first!, second!]) {
		t.deepEqual(await readFile(path.join(id === 'CO' ? ownerDir : peers.get(id)!.dir, 'large.bin')), content);
	}
});
