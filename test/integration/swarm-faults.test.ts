import test from 'ava';
import {startTracker, shareDir, eventually} from '../helpers/processes.js';
import {contentMd5, fileName, find, partialEntry, partSize, seed, startPeer, verifiedBytes} from '../helpers/swarm.js';

type Attempt = {peer: string; outcome: string};

test('a partial holder that sends a corrupt part is caught by that part\'s md5 and not asked again', async t => {
	const tracker = await startTracker(t);
	// A slower seed (a part a second): C is still partial, not a holder of the whole file, when E asks it.
	await seed(t, tracker.url, 'S', ['--upload-limit', String(256 * 1024)]);
	// C downloads good parts, and corrupts every upload it makes.
	const c = await startPeer(t, {id: 'C', dir: await shareDir(t), tracker: tracker.url, args: ['--fault', 'corrupt=1']});
	// E is up before C starts, so C is a few parts in, not done, when E asks (a holder of the whole file would have more chances).
	const e = await startPeer(t, {id: 'E', dir: await shareDir(t), tracker: tracker.url});
	c.send(`download ${fileName}`);
	await partialEntry(tracker.url, 'C', 2);
	const result = await e.run(`download ${fileName}`);
	t.true(result.ok, JSON.stringify(result));
	t.is(result.md5, contentMd5);
	const fromC = (result.attempts as Attempt[]).filter(attempt => attempt.peer === 'C');
	t.deepEqual(fromC, [{peer: 'C', outcome: 'checksum-mismatch'}]);
	t.is((result.sources as Array<{id: string; parts: number}>).find(source => source.id === 'C')?.parts ?? 0, 0);
});

test('a partial holder killed while others download from it: they finish from the rest', async t => {
	const tracker = await startTracker(t);
	await seed(t, tracker.url);
	const p = await startPeer(t, {id: 'P', dir: await shareDir(t), tracker: tracker.url, args: ['--upload-limit', String(256 * 1024)]});
	p.send(`download ${fileName}`);
	await partialEntry(tracker.url, 'P', 4);
	const e = await startPeer(t, {id: 'E', dir: await shareDir(t), tracker: tracker.url});
	e.send(`download ${fileName}`);
	// Once E is under way (it has parts of its own), P dies.
	await partialEntry(tracker.url, 'E', 1);
	await p.kill('SIGKILL');
	const result = JSON.parse(await e.stdout.next(line => line.startsWith('{"cmd"'), 120_000)) as Record<string, any>;
	t.true(result.ok, JSON.stringify(result));
	t.is(result.md5, contentMd5);
	t.log(JSON.stringify(result.attempts));
});

test('a downloader killed and restarted resumes its verified parts and announces them again at once', async t => {
	const tracker = await startTracker(t, ['--ttl-ms', '1500']);
	await seed(t, tracker.url);
	const dir = await shareDir(t);
	const d = await startPeer(t, {id: 'D', dir, tracker: tracker.url});
	d.send(`download ${fileName}`);
	await partialEntry(tracker.url, 'D', 4);
	await d.kill('SIGKILL');
	const kept = await verifiedBytes(dir);
	t.true(kept >= 4 * partSize, `kept ${kept} bytes`);
	// The dead peer's entry goes with it.
	await eventually(async () => ((await find(tracker.url)).partial === undefined ? true : undefined));
	const again = await startPeer(t, {id: 'D', dir, tracker: tracker.url});
	again.send(`download ${fileName}`);
	const entry = await partialEntry(tracker.url, 'D', 1);
	t.true(entry.have >= kept / partSize, `announced ${entry.have} parts, ${kept / partSize} were kept`);
	const result = JSON.parse(await again.stdout.next(line => line.startsWith('{"cmd"'), 120_000)) as Record<string, any>;
	t.true(result.ok, JSON.stringify(result));
	t.is(result.md5, contentMd5);
	t.is(result.reused.bytes, kept);
});
