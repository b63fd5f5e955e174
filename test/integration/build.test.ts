import {spawn} from 'node:child_process';
import {copyFile, readFile, symlink, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {buildPrograms} from '../../build.js';
import {tempDir} from '../helpers/peer-app.js';
import {adoptChild, latencyFile, repoRoot, shareDir} from '../helpers/processes.js';

test('the built programs run as installed (dist/ beside node_modules): a tracker, a serving peer and a scripted download', async t => {
	// Laid out as an installed package: dist/ beside latency.csv and the dependencies.
	const packageDir = await tempDir(t, 'xfs-build-');
	await buildPrograms(path.join(packageDir, 'dist'));
	await copyFile(latencyFile, path.join(packageDir, 'latency.csv'));
	await symlink(path.join(repoRoot, 'node_modules'), path.join(packageDir, 'node_modules'));
	const run = (program: string, args: string[]) => adoptChild(t, spawn(process.execPath, [path.join(packageDir, 'dist', program), ...args], {
		cwd: packageDir, env: {...process.env, NO_COLOR: '1'}, stdio: 'pipe',
	}));

	const tracker = run('tracker/cli.js', ['--port', '0', '--quiet']);
	const trackerUrl = (await tracker.stdout.next(/^tracker listening on /)).replace('tracker listening on ', '').trim();
	const dirA = await shareDir(t);
	await writeFile(path.join(dirA, 'a.txt'), 'alpha from the built peer');
	const peerArgs = ['--tracker', trackerUrl, '--latency-scale', '0.01', '--json'];
	const serving = run('source/cli.js', ['--id', 'A', '--dir', dirA, ...peerArgs, '--serve']);
	await serving.stdout.next(line => line.includes('"event":"ready"'));

	const dirB = await shareDir(t);
	const scripted = run('source/cli.js', ['--id', 'B', '--dir', dirB, ...peerArgs]);
	await scripted.stdout.next(line => line.includes('"event":"ready"'));
	scripted.child.stdin.end('download a.txt\n');
	const result = JSON.parse(await scripted.stdout.next(line => line.startsWith('{"cmd"'), 60_000)) as {ok: boolean};
	t.true(result.ok, JSON.stringify(result));
	t.is(await readFile(path.join(dirB, 'a.txt'), 'utf8'), 'alpha from the built peer');
	t.is((await scripted.exited).code, 0);
	// Both peers prepared their share dir on the worker thread, from the built files.
	for (const peer of [serving, scripted]) {
		t.false(peer.stderr.lines.some(line => line.includes('scanned on the main thread')), peer.stderr.lines.join('\n'));
	}
});
