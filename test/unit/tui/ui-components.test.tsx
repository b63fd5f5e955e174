import test from 'ava';
import {render} from 'ink-testing-library';
import {CandidatePanel} from '../../../source/tui/components/candidate-panel.js';
import {EventLog} from '../../../source/tui/components/event-log.js';
import {PendingCommands} from '../../../source/tui/components/pending-commands.js';
import {ProgressBar} from '../../../source/tui/components/progress-bar.js';
import {Prompt} from '../../../source/tui/components/prompt.js';
import {StatusLine} from '../../../source/tui/components/status-line.js';
import {TransferList} from '../../../source/tui/components/transfer-list.js';
import {colorsEnabled, paletteFor} from '../../../source/tui/hooks/use-palette.js';
import type {CandidatePanel as Panel, LogEntry, TransferRow} from '../../../source/tui/ui-state.js';
import {eventually} from '../../helpers/processes.js';

const peer = {id: 'me', url: 'http://127.0.0.1:40123', shareDir: '/tmp/xfs-demo-me-AbCdEf', latencyScale: 0.05, k: 1000};

test('status line: identity, tracker connected, load and the latency scale', t => {
	const {lastFrame} = render(<StatusLine peer={peer} tracker={{state: 'connected', epoch: 'e'}} load={0} watch={{state: 'watching', rescanMs: 60_000}} now={0} width={100}/>);
	t.is(lastFrame(), [
		'peer me  http://127.0.0.1:40123  share /tmp/xfs-demo-me-AbCdEf',
		'tracker connected  load 0  latency ×0.05  watching (rescan every 60 s)',
	].join('\n'));
});

test('status line: the back-off countdown while the tracker is down; no scale shown at ×1', t => {
	const {lastFrame} = render(<StatusLine peer={{...peer, latencyScale: 1}} tracker={{state: 'waiting', retryAt: 3500, reason: 'tracker down'}} load={2} watch={{state: 'rescanning', rescanMs: 30_000}} now={1000} width={100}/>);
	t.is(lastFrame()!.split('\n')[1], 'tracker waiting (tracker down), retry in 2.5 s  load 2  rescanning every 30 s');
});

test('status line: a restarted tracker, and a long share dir cut from the left at 80 columns', t => {
	const longDir = '/home/someone/a/very/long/path/to/the/shared/folder/of/this/peer';
	const {lastFrame} = render(<StatusLine peer={{...peer, shareDir: longDir}} tracker={{state: 'restarted', epoch: 'e2'}} load={1} now={0} width={80}/>);
	t.is(lastFrame(), [
		'peer me  http://127.0.0.1:40123  share …g/path/to/the/shared/folder/of/this/peer',
		'tracker restarted, list sent again  load 1  latency ×0.05  watch off',
	].join('\n'));
	t.is(lastFrame()!.split('\n')[0]!.length, 80);
});

test('status line: where the network is mounted, after the load', t => {
	const {lastFrame} = render(<StatusLine peer={{...peer, mount: '/mnt/xfs'}} tracker={{state: 'connected', epoch: 'e'}} load={0} now={0} width={100}/>);
	t.is(lastFrame()!.split('\n')[1], 'tracker connected  load 0  latency ×0.05  mounted at /mnt/xfs  watch off');
});

const downloadPanel: Panel = {name: 'song.mp3', origin: 'download', rows: [
	{id: 'A', url: 'http://peer-a.example.internal.network:40001', latencyMs: 150, load: 12, cost: 12_150, mark: 'chosen', answering: true},
	{id: 'B', url: 'http://127.0.0.1:40002', latencyMs: 600, load: 0, cost: 600, mark: 'checksum', answering: true},
	{id: 'C', url: 'http://127.0.0.1:40003', latencyMs: 1100, mark: 'candidate', answering: false},
	{id: 'D', url: '', mark: 'down', answering: false},
]};

test('candidate panel at 80 columns: every column shown, the long URL cut, numbers whole, marks for chosen, checksum and down', t => {
	const {lastFrame} = render(<CandidatePanel panel={downloadPanel} width={80}/>);
	t.is(lastFrame(), [
		'candidates for song.mp3 (download; load live)',
		'  machID URL                                     latency  load    cost',
		'▶ A      http://peer-a.example.internal.networ…   150 ms    12   12150  chosen',
		'✗ B      http://127.0.0.1:40002                   600 ms     0     600  checksum',
		'✗ C      http://127.0.0.1:40003                  1100 ms     -       -  down',
		'✗ D      -                                             -     -       -  down',
	].join('\n'));
	t.true(lastFrame()!.split('\n').every(line => line.length <= 80));
});

test('candidate panel after find: the URL column shrinks to the URLs', t => {
	const {lastFrame} = render(<CandidatePanel
		width={100}
		panel={{name: 'song.mp3', origin: 'find', rows: [
			{id: 'A', url: 'http://127.0.0.1:40001', latencyMs: 150, load: 0, cost: 150, mark: 'candidate', answering: true},
			{id: 'B', url: 'http://127.0.0.1:40002', latencyMs: 600, load: 1, cost: 1600, mark: 'candidate', answering: true},
		]}}
	/>);
	t.is(lastFrame(), [
		'candidates for song.mp3 (find; load live)',
		'  machID URL                     latency  load    cost',
		'  A      http://127.0.0.1:40001   150 ms     0     150',
		'  B      http://127.0.0.1:40002   600 ms     1    1600',
	].join('\n'));
});

const transfers: TransferRow[] = [
	{key: 0, name: 'song.mp3', phase: 'receiving', from: 'A', size: 1_536_000, received: 768_000, firstSampleAt: 0, firstSampleBytes: 0, bytesPerSecond: 512_000},
	{key: 1, name: 'a-very-long-file-name.bin', phase: 'locating', received: 0, firstSampleBytes: 0},
	{key: 2, name: 'video.mp4', phase: 'waiting', received: 0, firstSampleBytes: 0, retryAt: 1500},
	{key: 3, name: 'photo.jpg', phase: 'receiving', from: 'B', size: 524_288, received: 0, firstSampleBytes: 0},
];

test('transfer list at 80 columns: bar, percent, bytes, speed, ETA and source; locating and waiting rows', t => {
	const {lastFrame} = render(<TransferList transfers={transfers} now={0} width={80}/>);
	t.is(lastFrame(), [
		'transfers',
		'song.mp3     ████░░░░  50% 750 KiB/1.5 MiB    500 KiB/s ETA 2s    from A',
		'a-very-long… finding holders and their load…',
		'video.mp4    every holder failed, retry in 1.5 s',
		'photo.jpg    ░░░░░░░░   0% 0 B/512 KiB                - ETA -     from B',
	].join('\n'));
});

test('transfer list: a read through the mount says it is the mount before its holders, the bar giving way', t => {
	const read: TransferRow = {key: -4, viaMount: true, name: 'movie.mkv', phase: 'receiving', from: 'A, B', size: 1_536_000, received: 768_000, firstSampleAt: 0, firstSampleBytes: 0, bytesPerSecond: 512_000};
	const {lastFrame} = render(<TransferList transfers={[read]} now={0} width={100}/>);
	t.is(lastFrame()!.split('\n')[1], 'movie.mkv    ███████████░░░░░░░░░░░  50% 750 KiB/1.5 MiB    500 KiB/s ETA 2s    mount from A, B');
});

test('transfer list: the bar grows with the width, up to 30 cells', t => {
	const {lastFrame} = render(<TransferList transfers={transfers.slice(0, 1)} now={0} width={100}/>);
	t.is(lastFrame()!.split('\n')[1], 'song.mp3     ██████████████░░░░░░░░░░░░░░  50% 750 KiB/1.5 MiB    500 KiB/s ETA 2s    from A');
});

test('progress bar: filled to the ratio, clamped', t => {
	t.is(render(<ProgressBar ratio={0.5} width={10}/>).lastFrame(), '█████░░░░░');
	t.is(render(<ProgressBar ratio={0} width={4}/>).lastFrame(), '░░░░');
	t.is(render(<ProgressBar ratio={1.7} width={4}/>).lastFrame(), '████');
});

test('event log: entries are printed once each, in order, as they arrive', t => {
	const first: LogEntry[] = [{id: 0, kind: 'command', text: '› find song.mp3'}];
	const {lastFrame, rerender} = render(<EventLog entries={first}/>);
	t.is(lastFrame(), '› find song.mp3\n');
	rerender(<EventLog entries={[...first, {id: 1, kind: 'error', text: 'find: error NOT_FOUND: nobody holds song.mp3'}]}/>);
	t.is(lastFrame(), '› find song.mp3\nfind: error NOT_FOUND: nobody holds song.mp3\n');
});

test('pending commands: one line each', t => {
	t.is(render(<PendingCommands commands={[{key: 0, line: 'find song.mp3'}, {key: 1, line: 'getload B'}]}/>).lastFrame(), '… find song.mp3\n… getload B');
});

test('prompt: the line, the choices of an ambiguous Tab, the keys; typing and Enter reach the callbacks', async t => {
	const changes: string[] = [];
	const submits: number[] = [];
	const {lastFrame, stdin} = render(<Prompt value="download p" revision={7} choices={['paper.pdf', 'photo.jpg']} onChange={(value, revision) => changes.push(`${revision} ${value}`)} onSubmit={revision => submits.push(revision)}/>);
	t.is(lastFrame(), [
		'› download p',
		'  paper.pdf  photo.jpg',
		'↑↓ history  Tab complete  Esc hide candidates  help  Ctrl-C or exit to quit',
	].join('\n'));
	// Ink subscribes to stdin in an effect: poll until the keystroke lands.
	await eventually(() => {
		stdin.write('h');
		return changes.length > 0 ? true : undefined;
	}, {timeoutMs: 5000});
	t.is(changes[0], '7 download ph');
	stdin.write('\r');
	await eventually(() => (submits.length > 0 ? true : undefined), {timeoutMs: 5000});
	t.deepEqual(submits, [7]);
});

test('NO_COLOR (present and not empty) turns colours off', t => {
	t.true(colorsEnabled({}));
	t.true(colorsEnabled({NO_COLOR: ''}));
	t.false(colorsEnabled({NO_COLOR: '1'}));
	t.deepEqual(paletteFor(false), {dim: false});
	t.deepEqual(paletteFor(true), {good: 'green', warning: 'yellow', bad: 'red', accent: 'cyan', dim: true});
});
