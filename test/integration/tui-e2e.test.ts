/**
 * `npm start` in a real terminal (tmux): the demo network comes up, a person types commands,
 * and after `exit` nothing the demo started is still running.
 */
import {execFileSync} from 'node:child_process';
import {readFileSync} from 'node:fs';
import test from 'ava';
import {assertFreshBuild, eventually, repoRoot} from '../helpers/processes.js';

const socket = `xfs-e2e-${process.pid}`;
const session = 'demo';

function tmux(...args: string[]): string {
	return execFileSync('tmux', ['-L', socket, ...args], {encoding: 'utf8'});
}

/** The visible screen, trailing blanks dropped. Ink wraps long lines itself, so a wrapped line is two lines here. */
function screen(): string {
	return tmux('capture-pane', '-p', '-t', session).replace(/\s+$/, '');
}

async function screenMatches(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
	try {
		return await eventually(() => {
			const text = screen();
			return pattern.test(text) ? text : undefined;
		}, {timeoutMs, intervalMs: 100});
	} catch (error) {
		throw new Error(`the screen never matched ${String(pattern)}; it shows:\n${screen()}`, {cause: error});
	}
}

/** Types a line as one burst, waits until the prompt shows it, then presses Enter. */
async function typeCommand(line: string): Promise<void> {
	tmux('send-keys', '-t', session, '-l', line);
	await screenMatches(new RegExp(`^› ${line.replaceAll('.', String.raw`\.`)}\\s*$`, 'm'));
	tmux('send-keys', '-t', session, 'Enter');
}

type ProcessRow = {pid: number; ppid: number; args: string};

function processTable(): ProcessRow[] {
	return execFileSync('ps', ['-A', '-o', 'pid=,ppid=,args='], {encoding: 'utf8'}).trim().split('\n').map(line => {
		const [, pid, ppid, args] = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line)!;
		return {pid: Number(pid), ppid: Number(ppid), args: args!};
	});
}

function descendantsOf(root: number): ProcessRow[] {
	const table = processTable();
	const found: ProcessRow[] = [];
	const queue = [root];
	while (queue.length > 0) {
		const parent = queue.shift()!;
		for (const row of table.filter(candidate => candidate.ppid === parent)) {
			found.push(row);
			queue.push(row.pid);
		}
	}

	return found;
}

function isRunning(pid: number): boolean {
	try {
		// A zombie still answers kill(0) until its parent reaps it; /proc tells them apart.
		return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
	} catch {
		return false;
	}
}

test('npm start: find shows the holders with latency, load and cost, download completes, getload answers, exit leaves nothing running', async t => {
	t.timeout(180_000);
	try {
		execFileSync('tmux', ['-V']);
	} catch (error) {
		throw new Error('this test needs tmux on the PATH (apt-get install tmux)', {cause: error});
	}

	t.teardown(() => {
		try {
			tmux('kill-server');
		} catch {}
	});

	// npm start runs the programs built in dist/ (npm ci builds them, and npm test before the tests): built from these sources.
	assertFreshBuild();

	// The demo runs with the environment of this test but outside CI mode (Ink renders differently in CI) and without colours.
	const command = `cd '${repoRoot}' && env -u CI -u CONTINUOUS_INTEGRATION NO_COLOR=1 npm start; echo "demo exited with status $?"; sleep 600`;
	tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '40', command);
	const shell = Number(tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim());

	await screenMatches(/tracker connected {2}load 0 {2}latency ×0\.05/, 90_000);
	await screenMatches(/^›\s*$/m);
	const started = descendantsOf(shell).filter(row => !row.args.startsWith('sleep'));
	t.is(started.filter(row => row.args.includes('tracker/cli')).length, 1);
	t.deepEqual(started.filter(row => row.args.includes('--serve')).map(row => /--id (\S+)/.exec(row.args)?.[1]).sort(), ['A', 'B', 'C', 'D', 'E']);

	await typeCommand('find song.mp3');
	let text = await screenMatches(/candidates for song\.mp3 \(find; load live\)/);
	t.regex(text, /^ {2}machID URL +latency {2}load {4}cost$/m);
	t.regex(text, /^ {2}A {6}http:\/\/127\.0\.0\.1:\d+ +150 ms +0 +150$/m);
	t.regex(text, /^ {2}B {6}http:\/\/127\.0\.0\.1:\d+ +600 ms +0 +600$/m);
	t.regex(text, /^ {2}D {6}http:\/\/127\.0\.0\.1:\d+ +2000 ms +0 +2000$/m);
	t.regex(text, /^find song\.mp3: 3 holders up, md5 d08e392ca9da2b83784f74b956b818de, 1\.5 MiB$/m);

	await typeCommand('download song.mp3');
	text = await screenMatches(/^download song\.mp3: saved \S+\/song\.mp3 \(1\.5 MiB, md5\s+d08e392ca9da2b83784f74b956b818de\) from A after 1 attempt$/m);
	t.regex(text, /^▶ A {6}http:\/\/127\.0\.0\.1:\d+ +150 ms +\d+ +\d+ {2}chosen$/m);

	await typeCommand('getload A');
	await screenMatches(/^getload A: load 0$/m);

	// NO_COLOR: styles such as bold remain, no colour (SGR 30-37, 38, 90-97) is ever sent.
	const styled = tmux('capture-pane', '-p', '-e', '-t', session);
	t.regex(styled, /\u001B\[1m/);
	t.notRegex(styled, /\u001B\[(?:[\d;]*;)?(?:3[0-8]|9[0-7])(?:;[\d;]*)?m/);

	await typeCommand('exit');
	text = await screenMatches(/^demo exited with status \d+$/m);
	t.regex(text, /^xfs-peer demo: stopped the tracker and 5 peers$/m);
	t.regex(text, /^demo exited with status 0$/m);
	const left = await eventually(() => {
		const running = started.filter(row => isRunning(row.pid));
		return running.length === 0 ? running : undefined;
	}, {timeoutMs: 10_000}).catch(() => started.filter(row => isRunning(row.pid)));
	t.deepEqual(left.map(row => `${row.pid} ${row.args}`), []);
	// The shell has replaced itself with the final `sleep`: nothing may remain under it.
	t.deepEqual(descendantsOf(shell).map(row => row.args), []);
	t.log(`the screen after getload, before exit:\n${styled.replaceAll(/\u001B\[[\d;]*m/g, '')}`);
});
