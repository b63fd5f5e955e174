import {createHash} from 'node:crypto';
import {readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {eventually, getJson, shareDir, startPeer, startTracker} from '../helpers/processes.js';

const md5Of = (text: string) => createHash('md5').update(text).digest('hex');
const good = 'the owner\'s content\n';
const evil = 'EVIL content !!\n';

async function dirWith(t: Parameters<typeof shareDir>[0], files: Record<string, string>): Promise<string> {
	const dir = await shareDir(t);
	for (const [name, text] of Object.entries(files)) {
		await writeFile(path.join(dir, name), text);
	}

	return dir;
}

test('a late majority does not rewrite a name: the download gets its owner\'s content, and the tracker names who claimed another', async t => {
	const tracker = await startTracker(t);
	await startPeer(t, {id: 'A', dir: await dirWith(t, {'doc.txt': good}), tracker: tracker.url, serve: true});
	await startPeer(t, {id: 'E1', dir: await dirWith(t, {'doc.txt': evil}), tracker: tracker.url, serve: true});
	await startPeer(t, {id: 'E2', dir: await dirWith(t, {'doc.txt': evil}), tracker: tracker.url, serve: true});
	const found = (await getJson(`${tracker.url}/files/doc.txt`)).body;
	t.is(found.md5, md5Of(good));
	t.deepEqual(found.peers.map((peer: {id: string}) => peer.id), ['A']);
	await tracker.stderr.next(/name conflict: peer E2 \(key .{8}…\) lists \\?"doc\.txt\\?" as md5 [\da-f]{32}, but its owner \(key .{8}…\) published md5 [\da-f]{32}: never offered/);

	const meDir = await shareDir(t);
	const me = await startPeer(t, {id: 'me', dir: meDir, tracker: tracker.url});
	t.like(await me.run('download doc.txt'), {ok: true, md5: md5Of(good), from: 'A'});
	t.is(await readFile(path.join(meDir, 'doc.txt'), 'utf8'), good);
	// The copy carries the owner's record: it is offered with the owner.
	await eventually(async () => ((await getJson(`${tracker.url}/files/doc.txt`)).body.peers.length === 2 ? true : undefined));
	// And exactly the other content, asked for by its md5.
	const other = await startPeer(t, {id: 'other', dir: await shareDir(t), tracker: tracker.url});
	t.like(await other.run(`download doc.txt@${md5Of(evil)}`), {ok: true, md5: md5Of(evil)});
	t.like(await other.run('download doc.txt@nothex'), {ok: false, error: {code: 'BAD_INPUT'}});
});

test('the owner\'s new version moves the name: copies of the old one stop being offered', async t => {
	const tracker = await startTracker(t);
	const ownerDir = await dirWith(t, {'doc.txt': good});
	const owner = await startPeer(t, {id: 'A', dir: ownerDir, tracker: tracker.url, args: ['--no-watch']});
	const first = await startPeer(t, {id: 'B', dir: await shareDir(t), tracker: tracker.url});
	t.like(await first.run('download doc.txt'), {ok: true, md5: md5Of(good)});
	await eventually(async () => ((await getJson(`${tracker.url}/files/doc.txt`)).body.peers.length === 2 ? true : undefined));
	const edited = 'the owner\'s second version\n';
	await writeFile(path.join(ownerDir, 'doc.txt'), edited);
	t.like(await owner.run('updatelist'), {ok: true});
	const found = (await getJson(`${tracker.url}/files/doc.txt`)).body;
	t.is(found.md5, md5Of(edited));
	t.is(found.version, 2);
	t.deepEqual(found.peers.map((peer: {id: string}) => peer.id), ['A']);
	const late = await startPeer(t, {id: 'L', dir: await shareDir(t), tracker: tracker.url});
	t.like(await late.run('download doc.txt'), {ok: true, md5: md5Of(edited), from: 'A'});
});

test('after a tracker restart two keys claiming one name give NAME_CONFLICT, never either; name@md5 still fetches exactly that content', async t => {
	const tracker = await startTracker(t);
	await startPeer(t, {id: 'A', dir: await dirWith(t, {'doc.txt': good}), tracker: tracker.url, serve: true});
	await startPeer(t, {id: 'E', dir: await dirWith(t, {'doc.txt': evil}), tracker: tracker.url, serve: true});
	t.is((await getJson(`${tracker.url}/files/doc.txt`)).body.md5, md5Of(good));
	await tracker.kill();
	// Soft state: the restarted tracker cannot tell who was first, as both lists come back within the warm-up.
	const again = await startTracker(t, ['--port', String(tracker.port), '--warmup-ms', '60000']);
	await eventually(async () => ((await getJson(`${again.url}/peers`)).body.peers.length === 2 ? true : undefined));
	const conflict = await getJson(`${again.url}/files/doc.txt`);
	t.is(conflict.status, 409);
	t.is(conflict.body.error.code, 'NAME_CONFLICT');
	const me = await startPeer(t, {id: 'me', dir: await shareDir(t), tracker: again.url});
	t.like(await me.run('download doc.txt'), {ok: false, error: {code: 'NAME_CONFLICT'}});
	t.like(await me.run(`download doc.txt@${md5Of(good)}`), {ok: true, md5: md5Of(good), from: 'A'});
});
