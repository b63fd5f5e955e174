import {mkdir, mkdtemp, readdir, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import test from 'ava';
import {peerEntry as peer, repoRoot, startChild, startTracker, trackerEntry as trackerCli} from '../helpers/processes.js';

async function run(t: any, entry: string, args: string[]) {
	const child = startChild(t, entry, args);
	const {code} = await child.exited;
	return {code, stdout: child.stdout.lines.join('\n'), stderr: child.stderr.lines.join('\n')};
}

test('--help prints the usage and exits 0', async t => {
	const help = await run(t, peer, ['--help']);
	t.is(help.code, 0);
	t.regex(help.stdout, /^Usage: xfs-peer --id <machID> --dir <share dir> \[options]/);
	t.regex(help.stdout, /--latency-scale <number> +multiplies every emulated delay/);
	const trackerHelp = await run(t, trackerCli, ['--help']);
	t.is(trackerHelp.code, 0);
	t.regex(trackerHelp.stdout, /^Usage: xfs-tracker/);
});

const badPeerFlags: Array<[string, string[], string]> = [
	['no --id', ['--dir', '.'], 'xfs-peer: --id <machID> is required; see xfs-peer --help'],
	['no --dir', ['--id', 'A'], 'xfs-peer: --dir <share dir> is required; see xfs-peer --help'],
	['an unknown flag', ['--id', 'A', '--dir', '.', '--colour'], 'xfs-peer: unknown option "--colour"; see xfs-peer --help'],
	['a bad port', ['--id', 'A', '--dir', '.', '--port', '70000'], 'xfs-peer: --port: expected a port from 0 to 65535, got "70000"'],
	['a non-number scale', ['--id', 'A', '--dir', '.', '--latency-scale', 'fast'], 'xfs-peer: --latency-scale: expected a number, got "fast"'],
	['a bad policy', ['--id', 'A', '--dir', '.', '--policy', 'best'], 'xfs-peer: --policy: expected one of cost, latency, load, random, got "best"'],
	['a bad machID', ['--id', 'A/B', '--dir', '.'], 'xfs-peer: --id: "A/B" is not a machID: use 1-64 of [A-Za-z0-9._-]'],
	['a missing value', ['--id', 'A', '--dir'], 'xfs-peer: --dir needs a value (path)'],
	['a bad tracker URL', ['--id', 'A', '--dir', '.', '--tracker', 'localhost'], 'xfs-peer: --tracker: expected an http:// URL, got "localhost"'],
	['a bad fault', ['--id', 'A', '--dir', '.', '--fault', 'corrupt=2'], 'xfs-peer: --fault corrupt=<p>: p must be in [0, 1], got "2"'],
	['a missing share dir', ['--id', 'A', '--dir', '/nonexistent/share'], 'xfs-peer: --dir /nonexistent/share: no such directory'],
	['a missing latency file', ['--id', 'A', '--dir', '.', '--latency', '/nonexistent.csv'], 'xfs-peer: --latency /nonexistent.csv: no such file'],
	// A flag given twice: the last one wins, so the second --dir is the one checked.
	['--dir given twice, the last missing', ['--id', 'A', '--dir', '.', '--dir', '/nonexistent/two'], 'xfs-peer: --dir /nonexistent/two: no such directory'],
];

for (const [what, args, message] of badPeerFlags) {
	test(`xfs-peer with ${what} prints one line and exits 2`, async t => {
		const result = await run(t, peer, args);
		t.is(result.code, 2);
		t.is(result.stderr, message);
		t.is(result.stdout, '');
	});
}

test('bad flags change nothing in the share dir: no leftover removed, nothing hashed or cached', async t => {
	const dir = await mkdtemp(path.join(tmpdir(), 'xfs-cli-'));
	await writeFile(path.join(dir, 'a.txt'), 'alpha');
	await mkdir(path.join(dir, '.xfs', 'partial'), {recursive: true});
	await writeFile(path.join(dir, '.xfs', 'partial', 'b.txt.part'), 'half');
	const result = await run(t, peer, ['--id', 'A', '--dir', dir, '--port', '70000']);
	t.is(result.code, 2);
	t.deepEqual(await readdir(path.join(dir, '.xfs'), {recursive: true}), ['partial', path.join('partial', 'b.txt.part')]);
});

test('a malformed latency file is named with its line, exit 2', async t => {
	const dir = await mkdtemp(path.join(tmpdir(), 'xfs-cli-'));
	const file = path.join(dir, 'bad.csv');
	await writeFile(file, 'from,to,ms\nA,B,200\nA,C,20\n');
	const result = await run(t, peer, ['--id', 'A', '--dir', dir, '--latency', file]);
	t.is(result.code, 2);
	t.is(result.stderr, `xfs-peer: ${path.relative(repoRoot, file)}:3: ms must be in [100, 5000], got 20`);
});

test('xfs-tracker with a bad flag prints one line and exits 2', async t => {
	const result = await run(t, trackerCli, ['--ttl-ms', '-5']);
	t.is(result.code, 2);
	t.is(result.stderr, 'xfs-tracker: --ttl-ms: expected a number > 0, got "-5"');
});

test('xfs-tracker takes the last of a flag given twice', async t => {
	// The first --host alone could not be listened on.
	const tracker = await startTracker(t, ['--host', '256.0.0.1', '--host', '127.0.0.1']);
	t.is(new URL(tracker.url).hostname, '127.0.0.1');
	// Every value is still checked.
	const wrong = await run(t, trackerCli, ['--port', '0', '--port', '70000']);
	t.is(wrong.code, 2);
	t.is(wrong.stderr, 'xfs-tracker: --port: expected a port from 0 to 65535, got "70000"');
});
