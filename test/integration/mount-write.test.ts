import {createHash, randomBytes} from 'node:crypto';
import {readdir, readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {holdersAt} from '../helpers/faults.js';
import {mountTest, run, sh, startMountPeer} from '../helpers/mount.js';
import {eventually, getJson, shareDir, startPeer, startTracker} from '../helpers/processes.js';

const test = mountTest(import.meta.filename);
const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

test('a new file written into the mount is placed in the share dir when closed and published', async t => {
	const tracker = await startTracker(t);
	const me = await startMountPeer(t, {id: 'me', tracker: tracker.url});
	const source = path.join(me.share, '..', `${path.basename(me.share)}-source.bin`);
	const bytes = randomBytes((1024 * 1024) + 7);
	await writeFile(source, bytes);
	t.teardown(async () => sh(`rm -f ${source}`));
	const copy = await run('cp', [source, path.join(me.mnt, 'made-here.bin')]);
	t.is(copy.code, 0, copy.stderr);
	await me.stderr.next(/mount: made-here\.bin written through the mount \(1048583 bytes, md5 [\da-f]{32}\): placed in the share dir and published/);
	t.is(md5(await readFile(path.join(me.share, 'made-here.bin'))), md5(bytes));
	// Written under .xfs/ meanwhile: nothing is left there.
	t.deepEqual((await readdir(path.join(me.share, '.xfs', 'partial'))).filter(name => name.startsWith('made-here')), []);
	t.deepEqual(await eventually(async () => {
		const holders = await holdersAt(tracker.url, 'made-here.bin');
		return holders.length > 0 ? holders : undefined;
	}), ['me']);
	t.is((await getJson(`${tracker.url}/files/made-here.bin`)).body.md5, md5(bytes));
	// Published once: the watcher saw the new name but it was already listed.
	t.is(me.stderr.lines.filter(line => line.includes('published 1 new')).length, 1);
	// Another peer fetches it from here.
	const other = await startPeer(t, {id: 'other', dir: await shareDir(t), tracker: tracker.url});
	const fetched = await other.run('download made-here.bin');
	t.is(fetched.ok, true);
	t.is(fetched.md5, md5(bytes));
});

test('existing names cannot be written, truncated, renamed or removed; no directories; invalid names are EINVAL', async t => {
	const tracker = await startTracker(t);
	await startPeer(t, {id: 'A', dir: await shareDir(t, 'A'), tracker: tracker.url, serve: true});
	const share = await shareDir(t);
	await writeFile(path.join(share, 'mine.txt'), 'mine\n');
	const me = await startMountPeer(t, {id: 'me', tracker: tracker.url, dir: share});
	const at = (name: string) => path.join(me.mnt, name);
	await eventually(async () => ((await readdir(me.mnt)).includes('readme.txt') ? true : undefined));
	const cases: Array<[string, RegExp]> = [
		[`echo x > ${at('readme.txt')}`, /Read-only file system/],
		[`echo x >> ${at('mine.txt')}`, /Read-only file system/],
		[`truncate -s 0 ${at('readme.txt')}`, /Read-only file system/],
		[`rm ${at('mine.txt')}`, /Read-only file system/],
		[`mv ${at('readme.txt')} ${at('renamed.txt')}`, /Read-only file system/],
		[`touch ${at('mine.txt')}`, /Read-only file system/],
		[`chmod 644 ${at('mine.txt')}`, /Read-only file system/],
		[`mkdir ${at('folder')}`, /Operation not permitted/],
		[`ln -s ${at('mine.txt')} ${at('link.txt')}`, /Operation not permitted/],
		[`touch ${at('.hidden')}`, /Invalid argument/],
		[`touch '${at('bad name')}'`, /Invalid argument/],
	];
	for (const [command, error] of cases) {
		const result = await sh(command);
		t.not(result.code, 0, command);
		t.regex(result.stderr, error, command);
	}

	t.is(await readFile(path.join(share, 'mine.txt'), 'utf8'), 'mine\n');
	const names = await readdir(me.mnt);
	t.true(names.includes('mine.txt') && names.includes('readme.txt'));
	t.deepEqual(names.filter(name => ['renamed.txt', 'folder', 'link.txt', '.hidden', 'bad name'].includes(name)), []);
	// A new name is written once: its creator writes, then it is as immutable as the rest.
	t.is((await sh(`printf once > ${at('once.txt')}`)).code, 0);
	await me.stderr.next(/mount: once\.txt written through the mount/);
	t.regex((await sh(`printf twice > ${at('once.txt')}`)).stderr, /Read-only file system/);
	t.is(await readFile(path.join(share, 'once.txt'), 'utf8'), 'once');
});
