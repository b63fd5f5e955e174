import {writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {UsageError} from '../../../source/common/errors.js';
import {prepareShare} from '../../../source/share/share-dir.js';
import {prepareShareInWorker} from '../../../source/share/scan-thread.js';
import {tempDir} from '../../helpers/peer-app.js';

test('the share dir prepared on a worker thread is the one prepared here', async t => {
	const dir = await tempDir(t);
	await writeFile(path.join(dir, 'a.txt'), 'alpha');
	await writeFile(path.join(dir, 'b.txt'), 'bravo');
	const inWorker = await prepareShareInWorker(dir, {onFallback: reason => t.fail(`prepared on the main thread: ${reason}`)});
	const here = await prepareShare(dir);
	t.deepEqual(inWorker.files.entries, here.files.entries);
	t.deepEqual(inWorker.files.entries.map(file => file.name), ['a.txt', 'b.txt']);
	t.is(inWorker.shareDir, here.shareDir);
	t.deepEqual(inWorker.stats, {files: 2, hashed: 2, cached: 0});
});

test('a bad share dir is the same usage error from the worker thread', async t => {
	const dir = await tempDir(t);
	const missing = path.join(dir, 'missing');
	const error = await t.throwsAsync(prepareShareInWorker(missing, {onFallback: reason => t.fail(`prepared on the main thread: ${reason}`)}), {instanceOf: UsageError});
	t.is(error.message, `xfs-peer: --dir ${missing}: no such directory`);
});
