/** Mount tests' helpers: whether FUSE is here (and why not), a peer with --mount, and programs run on the mount as child processes. */
import {execFile, spawn} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import anyTest, {type ExecutionContext, type TestFn} from 'ava';
import {findFuse} from '../../source/mount/fuse-binding.js';
import {shareDir, startPeer, type PeerOptions, type PeerProcess} from './processes.js';

const fuse = findFuse();

/** `test` where FUSE works, `test.skip` elsewhere; the reason is printed once per file. */
export function mountTest(file: string): TestFn {
	if (fuse.ok) {
		return anyTest;
	}

	console.log(`${path.basename(file)}: mount tests skipped: FUSE is not available: ${fuse.missing}`);
	return anyTest.skip as unknown as TestFn;
}

export function isMounted(dir: string): boolean {
	return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some(line => line.split(' ')[4] === dir);
}

/** An empty mount point, unmounted (lazily, as a last resort) and removed at teardown. */
export async function mountDir(t: ExecutionContext): Promise<string> {
	const dir = await mkdtemp(path.join(tmpdir(), 'xfs-mnt-'));
	t.teardown(async () => {
		if (isMounted(dir) && fuse.ok) {
			await run(fuse.fusermount, ['-uz', dir]);
		}

		await rm(dir, {recursive: true, force: true});
	});
	return dir;
}

export type MountPeer = PeerProcess & {mnt: string; share: string};

/**
 * A scripted peer with --mount (ready once the mount answers); at teardown it is sent SIGTERM
 * and waited for before anything is killed, so it unmounts as it would on its own.
 */
export async function startMountPeer(t: ExecutionContext, options: Omit<PeerOptions, 'dir'> & {dir?: string; mnt?: string}): Promise<MountPeer> {
	const share = options.dir ?? await shareDir(t);
	const mnt = options.mnt ?? await mountDir(t);
	const peer = await startPeer(t, {...options, dir: share, args: [...options.args ?? [], '--mount', mnt]});
	t.teardown(async () => {
		await peer.kill('SIGTERM');
	});
	return {...peer, mnt, share};
}

export type Run = {code: number | null; stdout: Buffer; stderr: string; ms: number};

/** Runs a program (on the mount, typically) as a child process: this process's event loop stays free to serve the mount. */
export async function run(program: string, args: string[], {timeoutMs = 60_000} = {}): Promise<Run> {
	const started = performance.now();
	return new Promise(resolve => {
		execFile(program, args, {encoding: 'buffer', timeout: timeoutMs, maxBuffer: 1024 * 1024 * 1024}, (error, stdout, stderr) => {
			resolve({code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr: stderr.toString(), ms: performance.now() - started});
		});
	});
}

export async function sh(command: string, options?: {timeoutMs?: number}): Promise<Run> {
	return run('sh', ['-c', command], options);
}

/** A program started on the mount that keeps running (a reader holding a file open); killed at teardown. */
export function background(t: ExecutionContext, command: string): {exited: Promise<number | null>} {
	const child = spawn('sh', ['-c', command], {stdio: 'ignore'});
	const exited = new Promise<number | null>(resolve => {
		child.once('exit', code => {
			resolve(code);
		});
	});
	t.teardown(() => {
		child.kill('SIGKILL');
	});
	return {exited};
}
