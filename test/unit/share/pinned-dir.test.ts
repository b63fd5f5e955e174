import {mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import test from 'ava';
import {PinnedDir} from '../../../source/share/pinned-dir.js';

async function tempDir(t: {teardown: (fn: () => Promise<void>) => void}): Promise<string> {
	const dir = await mkdtemp(path.join(tmpdir(), 'xfs-pin-'));
	t.teardown(async () => rm(dir, {recursive: true, force: true}));
	return dir;
}

test('a share dir swapped for a symlink to /etc: reads through the pin still reach the pinned dir, and check says moved', async t => {
	const root = await tempDir(t);
	const share = path.join(root, 'share');
	await mkdir(share);
	await writeFile(path.join(share, 'a.txt'), 'mine');
	const pin = await PinnedDir.open(share);
	t.teardown(async () => pin.close());
	t.true(pin.pinned, 'Linux reaches the handle through /proc/self/fd');
	t.is(await pin.check(), 'same');
	await rename(share, path.join(root, 'share.real'));
	await symlink('/etc', share);
	t.is(await pin.check(), 'moved');
	t.is(await readFile(path.join(pin.ioPath, 'a.txt'), 'utf8'), 'mine');
	await t.throwsAsync(readFile(path.join(pin.ioPath, 'passwd')), {code: 'ENOENT'});
	await t.throwsAsync(readFile(path.join(pin.ioPath, 'hosts')), {code: 'ENOENT'});
});

test('a share dir deleted is gone; one made again at the path is another dir', async t => {
	const root = await tempDir(t);
	const share = path.join(root, 'share');
	await mkdir(share);
	const pin = await PinnedDir.open(share);
	t.teardown(async () => pin.close());
	await rm(share, {recursive: true});
	t.is(await pin.check(), 'gone');
	await mkdir(share);
	t.is(await pin.check(), 'moved');
});
