import test, {type ExecutionContext} from 'ava';
import {render} from 'ink-testing-library';
import {defaultK} from '../../../source/core/cost.js';
import {App} from '../../../source/tui/app.js';
import {loadPeerConfig} from '../../../source/peer/peer-config.js';
import {PeerNode} from '../../../source/peer/peer-node.js';
import {startTracker} from '../../../tracker/server.js';
import {eventually, latencyFile, repoRoot, shareDir} from '../../helpers/processes.js';

async function startNode(t: ExecutionContext, id: string, dir: string, tracker: string): Promise<PeerNode> {
	const config = loadPeerConfig(['--id', id, '--dir', dir, '--tracker', tracker, '--latency', latencyFile, '--latency-scale', '0.01', '--heartbeat-ms', '200'], {}, repoRoot);
	if (config === 'help') {
		throw new Error('unexpected --help');
	}

	const node = new PeerNode(config);
	await node.start();
	t.teardown(async () => node.stop());
	return node;
}

async function screenShows(lastFrame: () => string | undefined, text: string): Promise<string> {
	try {
		return await eventually(() => {
			const frame = lastFrame() ?? '';
			return frame.includes(text) ? frame : undefined;
		}, {timeoutMs: 20_000});
	} catch (error) {
		throw new Error(`the screen never showed "${text}"; it shows:\n${lastFrame()}`, {cause: error});
	}
}

/** The lines of the live area from `first` on, as many as `count`. */
function linesFrom(frame: string, first: string, count: number): string[] {
	const lines = frame.split('\n');
	const start = lines.map(line => line.startsWith(first)).lastIndexOf(true);
	return lines.slice(start, start + count);
}

test('the app drives the command layer: find fills the panel, live load refreshes it, Tab completes, download lands, exit leaves', async t => {
	const tracker = await startTracker({port: 0, warmupMs: 0});
	t.teardown(async () => tracker.close());
	const a = await startNode(t, 'A', await shareDir(t, 'A'), tracker.url);
	const b = await startNode(t, 'B', await shareDir(t, 'B'), tracker.url);
	const me = await startNode(t, 'me', await shareDir(t), tracker.url);
	// A pretends to be busy for the live refresh: the panel must follow the probe, not the first answer.
	const probeLoad = async (url: string) => (url === a.url ? 3 : 0);
	const {lastFrame, frames, stdin, unmount} = render(<App node={me} colors={false} probeLoad={probeLoad} liveLoadIntervalMs={100} banner={['welcome']}/>);
	t.teardown(unmount);

	await screenShows(lastFrame, 'tracker connected');
	stdin.write('find song.mp3\r');
	let frame = await screenShows(lastFrame, 'candidates for song.mp3 (find; load live)');
	t.true(frame.startsWith('welcome\n› find song.mp3\nfind song.mp3: 2 holders up, md5 d08e392ca9da2b83784f74b956b818de, 1.5 MiB\n'));

	// The panel's cost column: 150 ms + 3 loads at the default k, right-aligned.
	const busyCost = String(150 + (3 * defaultK)).padStart(8);
	frame = await screenShows(lastFrame, `   3${busyCost}`);
	t.deepEqual(linesFrom(frame, 'candidates for', 4), [
		'candidates for song.mp3 (find; load live)',
		'  machID URL                     latency  load    cost',
		`  A      ${a.url}   150 ms     3${busyCost}`,
		`  B      ${b.url}   600 ms     0     600`,
	]);

	stdin.write('download so');
	await screenShows(lastFrame, '› download so');
	stdin.write('\t');
	await screenShows(lastFrame, '› download song.mp3');
	stdin.write('\r');
	frame = await screenShows(lastFrame, 'from A after 1 attempt');
	// The log line is wider than the 100 columns of the test terminal: Ink wraps it.
	t.deepEqual(linesFrom(frame, 'download song.mp3: saved', 2), [
		`download song.mp3: saved ${me.shareDir}/song.mp3 (1.5 MiB, md5`,
		'd08e392ca9da2b83784f74b956b818de) from A after 1 attempt',
	]);
	t.deepEqual(me.files.map(file => file.name), ['song.mp3']);
	t.false(frame.includes('transfers'));
	t.is(linesFrom(frame, '▶ A', 1)[0], `▶ A      ${a.url}   150 ms     3${busyCost}  chosen`);

	stdin.write('getload B\r');
	await screenShows(lastFrame, 'getload B: load 0');
	stdin.write('fnd x\r');
	await screenShows(lastFrame, 'parse: error BAD_INPUT: unknown command "fnd"; try: find, download');

	stdin.write('exit\r');
	// Look through every frame: under CI=true Ink writes a different last frame when the app unmounts.
	frame = await eventually(() => frames.find(candidate => candidate.includes('leaving the tracker')), {timeoutMs: 10_000});
	t.false(frame.includes('Tab complete'));
});

test('the app shows where the network is mounted, and a read through the mount under transfers until it ends', async t => {
	const tracker = await startTracker({port: 0, warmupMs: 0});
	t.teardown(async () => tracker.close());
	const me = await startNode(t, 'me', await shareDir(t), tracker.url);
	// No FUSE here: the node is told where it is mounted, and its reads come as the mount emits them.
	Object.defineProperty(me, 'mountDir', {value: '/mnt/xfs'});
	const {lastFrame, unmount} = render(<App node={me} colors={false}/>);
	t.teardown(unmount);

	await screenShows(lastFrame, 'mounted at /mnt/xfs');
	me.emit('mount', {type: 'read-start', read: 9, name: 'movie.mkv', size: 4096, from: 'A'});
	me.emit('mount', {type: 'read-progress', read: 9, name: 'movie.mkv', from: 'A, B', received: 2048, size: 4096});
	const frame = await screenShows(lastFrame, 'mount from A, B');
	t.regex(linesFrom(frame, 'movie.mkv', 1)[0]!, /^movie\.mkv +[█░]+ +50% 2.0 KiB\/4.0 KiB .* mount from A, B$/);
	me.emit('mount', {type: 'read-end', read: 9, name: 'movie.mkv', outcome: 'closed', message: 'movie.mkv: its readers are done'});
	await eventually(() => (lastFrame()!.includes('movie.mkv') ? undefined : true), {timeoutMs: 10_000});
	t.false(lastFrame()!.includes('transfers'));
});
