/** A small tmpfs for tests of a full or read-only disk: mounted as root, unmounted at teardown; undefined (with the reason logged) where mounting is not allowed. */
import {execFile} from 'node:child_process';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';
import type {ExecutionContext} from 'ava';

const run = promisify(execFile);

export async function mountTmpfs(t: ExecutionContext, sizeMiB: number): Promise<string | undefined> {
	const dir = await mkdtemp(path.join(tmpdir(), 'xfs-tmpfs-'));
	try {
		await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir]);
	} catch (error) {
		await rm(dir, {recursive: true, force: true});
		t.log(`skipped: cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]}); run as root to test a full disk`);
		return undefined;
	}

	t.teardown(async () => {
		await run('umount', ['-l', dir]).catch(() => {});
		await rm(dir, {recursive: true, force: true});
	});
	return dir;
}

export async function remountReadOnly(dir: string): Promise<void> {
	await run('mount', ['-o', 'remount,ro', dir]);
}
