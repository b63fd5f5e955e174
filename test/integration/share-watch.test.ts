import {createHash} from 'node:crypto';
import {appendFile, mkdir, rename, rm, symlink, unlink, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {eventually, getJson, shareDir, startPeer, startTracker, type PeerProcess} from '../helpers/processes.js';
import {identityOfShare, signedRequest} from '../helpers/signed.js';

const md5Of = (text: string | Buffer) => createHash('md5').update(text).digest('hex');
const watchArgs = ['--settle-ms', '300'];

async function findAt(tracker: string, name: string): Promise<{status: number; md5?: string; peers?: string[]}> {
	const {status, body} = await getJson(`${tracker}/files/${name}`);
	return status === 200 ? {status, md5: body.md5, peers: body.peers.map((peer: {id: string}) => peer.id)} : {status};
}

/** Messages of a --serve peer's JSON log lines on stderr. */
function logMessages(peer: PeerProcess): string[] {
	return peer.stderr.lines.flatMap(line => {
		try {
			return [String((JSON.parse(line) as {msg?: string}).msg ?? '')];
		} catch {
			return [];
		}
	});
}

test('a file dropped in, edited in place, renamed and removed: Find follows each without a command, and the log says what was published', async t => {
	const tracker = await startTracker(t);
	const dir = await shareDir(t, 'A');
	const a = await startPeer(t, {id: 'A', dir, tracker: tracker.url, serve: true, args: watchArgs});
	// Dropped in whole (written under a hidden name, then renamed): a write in place could be seen empty first on a busy machine, and published so until it is written.
	await writeFile(path.join(dir, '.dropped.txt.tmp'), 'first version\n');
	await rename(path.join(dir, '.dropped.txt.tmp'), path.join(dir, 'dropped.txt'));
	t.deepEqual(await eventually(async () => {
		const found = await findAt(tracker.url, 'dropped.txt');
		return found.status === 200 ? found : undefined;
	}), {status: 200, md5: md5Of('first version\n'), peers: ['A']});
	await eventually(() => (logMessages(a).some(message => /^published 1 new, 0 changed, 0 removed \(1 update\)$/.test(message)) ? true : undefined));

	await writeFile(path.join(dir, 'dropped.txt'), 'second version, longer\n');
	await eventually(async () => ((await findAt(tracker.url, 'dropped.txt')).md5 === md5Of('second version, longer\n') ? true : undefined));
	await eventually(() => (logMessages(a).some(message => message.startsWith('published 0 new, 1 changed, 0 removed')) ? true : undefined));

	await rename(path.join(dir, 'dropped.txt'), path.join(dir, 'renamed.txt'));
	await eventually(async () => ((await findAt(tracker.url, 'renamed.txt')).status === 200 && (await findAt(tracker.url, 'dropped.txt')).status === 404 ? true : undefined));
	t.is((await findAt(tracker.url, 'renamed.txt')).md5, md5Of('second version, longer\n'));

	await unlink(path.join(dir, 'renamed.txt'));
	await eventually(async () => ((await findAt(tracker.url, 'renamed.txt')).status === 404 ? true : undefined));
	// Hidden files and the state folder are never published.
	await writeFile(path.join(dir, '.hidden'), 'secret');
	await mkdir(path.join(dir, 'sub'));
	await writeFile(path.join(dir, 'sub', 'inner.txt'), 'not flat');
	await writeFile(path.join(dir, 'last.txt'), 'last');
	await eventually(async () => ((await findAt(tracker.url, 'last.txt')).status === 200 ? true : undefined));
	t.deepEqual((await getJson(`${tracker.url}/files`)).body.files.map((file: {name: string}) => file.name), ['last.txt', 'notes.md', 'readme.txt', 'song.mp3']);
});

test('a slow writer (a file written in pieces over 2 s) never has a partial md5 at the tracker', async t => {
	const settleMs = 1000;
	const tracker = await startTracker(t);
	const dir = await shareDir(t);
	await startPeer(t, {id: 'A', dir, tracker: tracker.url, serve: true, args: ['--settle-ms', String(settleMs)]});
	const file = path.join(dir, 'slow.bin');
	const pieces: Buffer[] = [];
	const appendedAt: number[] = [];
	const appendStartedAt: number[] = [];
	const seen = new Set<string>();
	let writing = true;
	const watcher = (async () => {
		while (writing) {
			const found = await findAt(tracker.url, 'slow.bin');
			if (found.md5) {
				seen.add(found.md5);
			}

			await new Promise(resolve => {
				setTimeout(resolve, 25);
			});
		}
	})();
	for (let piece = 0; piece < 20; piece++) {
		const bytes = Buffer.alloc(32 * 1024, piece);
		pieces.push(bytes);
		appendStartedAt.push(Date.now());
		await appendFile(file, bytes);
		appendedAt.push(Date.now());
		await new Promise(resolve => {
			setTimeout(resolve, 100);
		});
	}

	const whole = md5Of(Buffer.concat(pieces));
	await eventually(async () => ((await findAt(tracker.url, 'slow.bin')).md5 === whole ? true : undefined));
	writing = false;
	await watcher;
	// A prefix may be published only if it really stood still for the settle time (a machine this busy can stall a writer: the
	// 2000-file burst beside this test fills its thread pool). The prefix of k pieces, 0 included (appendFile opens the file empty,
	// then writes), appeared after the start of append k - 1 (of append 0 when k is 0) and was gone once append k ended, so it surely
	// did not stand still that long when append k ended less than the settle time after that start. Any other md5 is a torn read.
	const prefixes = Array.from({length: pieces.length}, (_, count) => md5Of(Buffer.concat(pieces.slice(0, count))));
	const early = [...seen].filter(md5 => md5 !== whole).map(md5 => prefixes.indexOf(md5));
	const surelyMoving = (count: number) => appendedAt[count]! - appendStartedAt[Math.max(0, count - 1)]! < settleMs;
	t.deepEqual(early.filter(count => count === -1 || surelyMoving(count)), [], `partial md5s seen of pieces ${early.join(', ')} (-1: none of them) in ${[...seen].join(', ')}; append times ${appendStartedAt.map((at, index) => appendedAt[index]! - at).join(', ')} ms`);
	if (early.length > 0) {
		t.log(`the writer may have paused for ${settleMs} ms or more with ${early.join(', ')} pieces written: those prefixes were complete files for that long`);
	}
});

test('a burst of 2000 files is published within seconds in a handful of updates', async t => {
	const tracker = await startTracker(t);
	const dir = await shareDir(t);
	const a = await startPeer(t, {id: 'A', dir, tracker: tracker.url, serve: true, args: watchArgs});
	await Promise.all(Array.from({length: 2000}, async (_, index) => writeFile(path.join(dir, `burst-${index}.txt`), `file ${index}\n`)));
	await eventually(async () => ((await getJson(`${tracker.url}/peers`)).body.peers[0]?.files === 2000 ? true : undefined), {timeoutMs: 60_000});
	const updatesSoFar = () => logMessages(a).flatMap(message => {
		const match = /^published (\d+) new, \d+ changed, \d+ removed \((\d+) updates?\)$/.exec(message);
		return match ? [{added: Number(match[1]), requests: Number(match[2])}] : [];
	});
	// The log line follows the last update's reply.
	const updates = await eventually(() => {
		const lines = updatesSoFar();
		return lines.reduce((total, update) => total + update.added, 0) === 2000 ? lines : undefined;
	});
	const requests = updates.reduce((total, update) => total + update.requests, 0);
	t.log(`2000 files in ${requests} incremental updates`);
	t.true(requests <= 20, `${requests} requests`);
	t.is((await findAt(tracker.url, 'burst-1999.txt')).md5, md5Of('file 1999\n'));
});

test('a lost incremental update is detected by its version and healed with the whole list', async t => {
	const tracker = await startTracker(t);
	const dir = await shareDir(t, 'A');
	await startPeer(t, {id: 'A', dir, tracker: tracker.url, serve: true, args: watchArgs});
	await writeFile(path.join(dir, 'one.txt'), 'one');
	await eventually(async () => ((await findAt(tracker.url, 'one.txt')).status === 200 ? true : undefined));
	// An update the peer never sees the answer to, as if one of its own was lost: the tracker's version moves on.
	let moved = false;
	const identity = await identityOfShare(dir);
	for (let version = 0; version < 20 && !moved; version++) {
		const response = await signedRequest(tracker.url, '/peers/A/files', {method: 'PATCH', identity, body: JSON.stringify({from: version, to: version + 1, remove: ['notes.md']})});
		moved = response.status === 200;
	}

	t.true(moved);
	t.is((await findAt(tracker.url, 'notes.md')).status, 404);
	await writeFile(path.join(dir, 'two.txt'), 'two');
	await eventually(async () => ((await findAt(tracker.url, 'two.txt')).status === 200 ? true : undefined));
	// The next update was refused (VERSION_MISMATCH) and the whole list went: notes.md is back.
	t.is((await findAt(tracker.url, 'notes.md')).status, 200);
});

test('a watch that cannot start says why and how to raise the limit, and the rescan still publishes', async t => {
	const tracker = await startTracker(t);
	const dir = await shareDir(t);
	const a = await startPeer(t, {id: 'A', dir, tracker: tracker.url, serve: true, args: ['--fault', 'watch-error=ENOSPC', '--rescan-ms', '500', ...watchArgs]});
	await eventually(() => (logMessages(a).some(message => message.includes('inotify watches are used up (ENOSPC)') && message.includes('sysctl fs.inotify.max_user_watches=')) ? true : undefined));
	await writeFile(path.join(dir, 'late.txt'), 'found by the rescan');
	await eventually(async () => ((await findAt(tracker.url, 'late.txt')).status === 200 ? true : undefined));
	t.is(logMessages(a).filter(message => message.includes('ENOSPC')).length, 1, 'said once');
});

test('--no-watch with --rescan-ms 0: nothing is published until updatelist', async t => {
	const tracker = await startTracker(t);
	const dir = await shareDir(t);
	const a = await startPeer(t, {id: 'A', dir, tracker: tracker.url, args: ['--no-watch', '--rescan-ms', '0', ...watchArgs]});
	await writeFile(path.join(dir, 'quiet.txt'), 'only on updatelist');
	// Longer than a watch would take (settle 300 ms): still unknown.
	await new Promise(resolve => {
		setTimeout(resolve, 1500);
	});
	t.is((await findAt(tracker.url, 'quiet.txt')).status, 404);
	t.like(await a.run('updatelist'), {cmd: 'updatelist', ok: true, files: 1});
	t.is((await findAt(tracker.url, 'quiet.txt')).status, 200);
});

test('a share dir swapped for a symlink to /etc serves nothing from it, withdraws its files, and comes back when the dir does', async t => {
	const tracker = await startTracker(t);
	const root = await shareDir(t);
	const dir = path.join(root, 'share');
	await mkdir(dir);
	await writeFile(path.join(dir, 'mine.txt'), 'mine');
	const a = await startPeer(t, {id: 'A', dir, tracker: tracker.url, serve: true, args: watchArgs});
	t.is((await findAt(tracker.url, 'mine.txt')).status, 200);
	await rename(dir, path.join(root, 'share.real'));
	await symlink('/etc', dir);
	for (const request of ['/files/passwd', '/files/hosts', '/files/passwd/parts']) {
		t.is((await fetch(`${a.url}${request}`)).status, 404, request);
	}

	await eventually(async () => ((await findAt(tracker.url, 'mine.txt')).status === 404 ? true : undefined));
	// Withdrawn: not even the share dir's own files are served while its path names something else.
	t.is((await fetch(`${a.url}/files/mine.txt`)).status, 404);
	// Between the rename and the symlink the path names nothing, so the guard may see the dir deleted first; either way once.
	const withdrawn = (message: string) => /share dir .* was (?:moved or replaced|deleted): withdrew its 1 file/.test(message);
	await eventually(() => (logMessages(a).some(withdrawn) ? true : undefined));
	t.is(logMessages(a).filter(withdrawn).length, 1);
	await rm(dir);
	await rename(path.join(root, 'share.real'), dir);
	await eventually(async () => ((await findAt(tracker.url, 'mine.txt')).status === 200 ? true : undefined));
	t.is((await (await fetch(`${a.url}/files/mine.txt`)).text()), 'mine');
	t.true(logMessages(a).some(message => /share dir .* is back: 1 file\(s\) shared/.test(message)));
});
