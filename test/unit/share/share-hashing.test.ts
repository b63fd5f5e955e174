import {execFileSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {appendFile, lstat, mkdir, rename, symlink, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type {FileStamp} from '../../../source/share/hash-cache.js';
import {md5OfShared, md5OfSharedSync, syncHashMaxBytes} from '../../../source/share/share-dir.js';
import {md5, scan, tempShareDir, writeOld} from '../../helpers/share-scan.js';

async function stampOf(file: string): Promise<FileStamp> {
	const stats = await lstat(file);
	return {size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino};
}

const routes = {
	async: md5OfShared,
	sync: async (file: string, stamp: FileStamp) => md5OfSharedSync(file, stamp),
};

for (const [route, hashOf] of Object.entries(routes)) {
	test(`${route}: a regular file whose stamp still holds is hashed`, async t => {
		const dir = await tempShareDir(t);
		const file = path.join(dir, 'a.txt');
		await writeOld(file, 'alpha\n');
		t.is(await hashOf(file, await stampOf(file)), md5('alpha\n'));
		const empty = path.join(dir, 'empty');
		await writeOld(empty, '');
		t.is(await hashOf(empty, await stampOf(empty)), md5(''));
	});

	test(`${route}: a file changed or replaced since its stamp, a symlink, a FIFO and a missing file are refused`, async t => {
		const dir = await tempShareDir(t);
		const changed = path.join(dir, 'changed.txt');
		await writeOld(changed, 'before\n');
		const changedStamp = await stampOf(changed);
		await appendFile(changed, 'more\n');
		t.is(await hashOf(changed, changedStamp), undefined);

		const replaced = path.join(dir, 'replaced.txt');
		await writeOld(replaced, 'first\n');
		const replacedStamp = await stampOf(replaced);
		await writeOld(path.join(dir, 'other.txt'), 'other\n');
		await rename(path.join(dir, 'other.txt'), replaced);
		t.is(await hashOf(replaced, replacedStamp), undefined);

		// The stamp of a regular file, and a symlink to it in its place: O_NOFOLLOW refuses the link.
		const target = path.join(dir, 'target.txt');
		await writeOld(target, 'target\n');
		const link = path.join(dir, 'link.txt');
		await symlink(target, link);
		t.is(await hashOf(link, await stampOf(target)), undefined);

		const fifo = path.join(dir, 'pipe');
		execFileSync('mkfifo', [fifo]);
		t.is(await hashOf(fifo, await stampOf(fifo)), undefined);
		t.is(await hashOf(path.join(dir, 'gone.txt'), replacedStamp), undefined);
	});
}

test('a scan hashes regular files small and large; symlinks, a FIFO and a folder are left out, and nothing blocks', async t => {
	const dir = await tempShareDir(t);
	const largeSize = (3 * 1024 * 1024) + 5;
	t.true(largeSize > syncHashMaxBytes);
	const large = Buffer.alloc(largeSize, 7);
	await writeOld(path.join(dir, 'a.txt'), 'alpha\n');
	await writeFile(path.join(dir, 'b.bin'), large);
	await symlink(path.join(dir, 'a.txt'), path.join(dir, 'link.txt'));
	await symlink('/etc/passwd', path.join(dir, 'passwd'));
	execFileSync('mkfifo', [path.join(dir, 'pipe')]);
	await mkdir(path.join(dir, 'sub'));
	const {files, stats} = await scan(dir);
	t.deepEqual(files, [
		{name: 'a.txt', md5: md5('alpha\n'), size: 6},
		{name: 'b.bin', md5: createHash('md5').update(large).digest('hex'), size: largeSize},
	]);
	t.deepEqual(stats, {files: 2, hashed: 2, cached: 0});
});
