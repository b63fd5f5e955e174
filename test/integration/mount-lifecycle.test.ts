import {spawn} from 'node:child_process';
import {readdir, writeFile} from 'node:fs/promises';
import path from 'node:path';
import anyTest from 'ava';
import {peerIdsAt} from '../helpers/faults.js';
import {isMounted, mountDir, mountTest, run, startMountPeer} from '../helpers/mount.js';
import {fastPeerArgs, peerEntry, shareDir, startChild, startPeer, startTracker} from '../helpers/processes.js';

const test = mountTest(import.meta.filename);

test('unmounted on every way out: SIGTERM, SIGINT, SIGHUP, end of input, exit, and --serve on SIGTERM', async t => {
	const tracker = await startTracker(t);
	await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true});
	const ways: Array<{way: string; serve?: boolean; leave: (peer: Awaited<ReturnType<typeof startMountPeer>>) => void; code: number}> = [
		{way: 'SIGTERM', leave: peer => peer.child.kill('SIGTERM'), code: 130},
		{way: 'SIGINT', leave: peer => peer.child.kill('SIGINT'), code: 130},
		{way: 'SIGHUP', leave: peer => peer.child.kill('SIGHUP'), code: 130},
		{way: 'end of input', leave(peer) {
			peer.end();
		}, code: 0},
		{way: 'exit', leave: peer => peer.child.stdin.write('exit\n'), code: 0},
		{way: '--serve, SIGTERM', serve: true, leave: peer => peer.child.kill('SIGTERM'), code: 0},
	];
	for (const {way, serve, leave, code} of ways) {
		const peer = await startMountPeer(t, {id: 'me', tracker: tracker.url, serve});
		t.true(isMounted(peer.mnt), way);
		t.is((await run('cat', [path.join(peer.mnt, 'readme.txt')])).code, 0, way);
		leave(peer);
		t.deepEqual(await peer.exited, {code, signal: null}, way);
		t.false(isMounted(peer.mnt), way);
		t.deepEqual(await peerIdsAt(tracker.url), ['A'], way);
	}
});

test('a stale mount left by kill -9 is cleared at the next start, which says so', async t => {
	const tracker = await startTracker(t);
	await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true});
	const share = await shareDir(t);
	const mnt = await mountDir(t);
	const first = await startMountPeer(t, {id: 'me', tracker: tracker.url, dir: share, mnt});
	await first.kill('SIGKILL');
	t.true(isMounted(mnt));
	// Nobody answers there any more (a stat could still be answered from the kernel's cache for a second).
	const error = await readdir(mnt).then(() => undefined, (error_: unknown) => error_ as NodeJS.ErrnoException);
	t.is(error?.code, 'ENOTCONN');
	const second = await startMountPeer(t, {id: 'me', tracker: tracker.url, dir: share, mnt});
	t.true(second.stderr.lines.includes(`peer me: cleared a stale mount at ${mnt} (left by a peer that did not exit cleanly)`));
	t.is((await run('cat', [path.join(mnt, 'readme.txt')])).code, 0);
});

test('a busy mount at exit is unmounted lazily, with one line saying so', async t => {
	const tracker = await startTracker(t);
	await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true});
	const peer = await startMountPeer(t, {id: 'me', tracker: tracker.url});
	// A reader that holds a file of the mount open.
	const reader = spawn('sh', ['-c', `exec 3< ${path.join(peer.mnt, 'readme.txt')} && echo open && exec sleep 60`], {stdio: ['ignore', 'pipe', 'ignore']});
	t.teardown(() => {
		reader.kill('SIGKILL');
	});
	await new Promise(resolve => {
		reader.stdout.once('data', resolve);
	});
	peer.child.kill('SIGTERM');
	t.deepEqual(await peer.exited, {code: 130, signal: null});
	t.deepEqual(peer.stderr.lines.filter(line => line.includes('busy')), [`peer me: mount ${peer.mnt} was busy (a file or directory there is in use): unmounted lazily; it goes once nothing uses it`]);
	t.false(isMounted(peer.mnt));
});

test('a mount point that is mounted already or holds files is refused: exit 2, one line', async t => {
	const tracker = await startTracker(t);
	const running = await startMountPeer(t, {id: 'one', tracker: tracker.url});
	const again = startChild(t, peerEntry, ['--id', 'two', '--dir', await shareDir(t), '--tracker', tracker.url, ...fastPeerArgs, '--mount', running.mnt]);
	t.deepEqual(await again.exited, {code: 2, signal: null});
	t.deepEqual(again.stderr.lines, [`xfs-peer: --mount ${running.mnt}: already mounted (by another running xfs-peer?); unmount it first (fusermount -u ${running.mnt})`]);
	const full = await mountDir(t);
	await writeFile(path.join(full, 'file.txt'), 'x');
	const onFiles = startChild(t, peerEntry, ['--id', 'three', '--dir', await shareDir(t), '--tracker', tracker.url, ...fastPeerArgs, '--mount', full]);
	t.deepEqual(await onFiles.exited, {code: 2, signal: null});
	t.deepEqual(onFiles.stderr.lines, [`xfs-peer: --mount ${full}: not empty (the mount would hide its files); use an empty directory`]);
	t.deepEqual(await peerIdsAt(tracker.url), ['one']);
});

for (const [what, env, message] of [
	['no FUSE device', {XFS_FUSE_DEVICE: '/nonexistent/fuse'}, /^xfs-peer: --mount .+: FUSE is not available: \/nonexistent\/fuse is missing \(the fuse kernel module is not loaded: modprobe fuse; in a container, give it the device\); on Debian: apt-get install libfuse2 fuse$/],
	['fuse-native not loadable', {XFS_FUSE_DEVICE: '/dev/null', XFS_FUSE_MODULE: 'fuse-native-not-installed'}, /^xfs-peer: --mount .+: FUSE is not available: the optional package fuse-native-not-installed is not installed \(npm install fuse-native-not-installed\), and it needs the system's libfuse2; on Debian: apt-get install libfuse2 fuse$/],
] as const) {
	// Runs wherever the tests run: the check itself needs no FUSE.
	anyTest(`without FUSE (${what}) --mount exits 2 with one line naming what is missing and how to install it`, async t => {
		const tracker = await startTracker(t);
		const dir = await shareDir(t);
		const peer = startChild(t, peerEntry, ['--id', 'me', '--dir', dir, '--tracker', tracker.url, ...fastPeerArgs, '--mount', path.join(dir, '..', `${path.basename(dir)}-mnt`)], env);
		t.deepEqual(await peer.exited, {code: 2, signal: null});
		t.is(peer.stderr.lines.length, 1);
		t.regex(peer.stderr.lines[0]!, message);
		t.deepEqual(peer.stdout.lines, []);
		t.deepEqual(await peerIdsAt(tracker.url), []);
	});
}
