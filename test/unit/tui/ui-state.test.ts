import test from 'ava';
import type {CommandResult} from '../../../source/commands/commands.js';
import {
	createUiState, historyLimit, needsClock, reduceUi, splitTypedLines, transferFigures, type UiAction, type UiState,
} from '../../../source/tui/ui-state.js';

const peer = {id: 'me', url: 'http://127.0.0.1:4000', shareDir: '/tmp/me', latencyScale: 0.05, k: 1000};
const connected = {state: 'connected', epoch: 'e1'} as const;

function run(actions: UiAction[], state: UiState = createUiState(peer, connected, 0)): UiState {
	return actions.reduce(reduceUi, state);
}

const song = {name: 'song.mp3', md5: 'd08e392ca9da2b83784f74b956b818de', size: 1_536_000};
const findResult: CommandResult = {
	cmd: 'find', ok: true, ...song, local: false, stale: false, down: ['D'],
	peers: [
		{id: 'A', url: 'http://127.0.0.1:4001', latencyMs: 150, load: 0, cost: 150},
		{id: 'B', url: 'http://127.0.0.1:4002', latencyMs: 600, load: 1, cost: 1600},
	],
};

test('the banner opens the event log', t => {
	const state = createUiState(peer, connected, 0, ['xfs-peer demo', 'latency ×0.05']);
	t.deepEqual(state.log, [{id: 0, kind: 'banner', text: 'xfs-peer demo'}, {id: 1, kind: 'banner', text: 'latency ×0.05'}]);
	t.is(state.nextLogId, 2);
});

test('find: the line goes to the history and the log, waits as pending, then fills the candidate panel best first', t => {
	const submitted = run([
		{type: 'prompt-changed', value: 'find song.mp3'},
		{type: 'command-submitted', key: 0, line: 'find song.mp3', command: {cmd: 'find', name: 'song.mp3'}},
	]);
	t.is(submitted.prompt.value, '');
	t.is(submitted.prompt.revision, 0, 'an emptied line keeps its input: no remount, no key lost after Enter');
	t.deepEqual(submitted.prompt.history, ['find song.mp3']);
	t.deepEqual(submitted.pending, [{key: 0, line: 'find song.mp3'}]);
	t.deepEqual(submitted.log, [{id: 0, kind: 'command', text: '› find song.mp3'}]);

	const done = reduceUi(submitted, {type: 'command-finished', key: 0, result: findResult});
	t.deepEqual(done.pending, []);
	t.is(done.finished, 1);
	t.deepEqual(done.panel, {name: 'song.mp3', origin: 'find', rows: [
		{id: 'A', url: 'http://127.0.0.1:4001', latencyMs: 150, load: 0, cost: 150, mark: 'candidate', answering: true},
		{id: 'B', url: 'http://127.0.0.1:4002', latencyMs: 600, load: 1, cost: 1600, mark: 'candidate', answering: true},
		{id: 'D', url: '', mark: 'down', answering: false},
	]});
	t.deepEqual(done.log.at(-1), {id: 1, kind: 'result', text: [
		'find song.mp3: 2 holders up, md5 d08e392ca9da2b83784f74b956b818de, 1.5 MiB; down: D',
		'  A        http://127.0.0.1:4001        latency   150 ms  load  0  cost    150',
		'  B        http://127.0.0.1:4002        latency   600 ms  load  1  cost   1600',
	].join('\n')});
});

test('live load refreshes a row: load and cost follow, an unanswered probe marks the row down', t => {
	const shown = run([{type: 'command-finished', key: 0, result: findResult}]);
	const busier = reduceUi(shown, {type: 'live-load', id: 'A', load: 2});
	t.like(busier.panel!.rows[0], {id: 'A', load: 2, cost: 2150, answering: true});
	const silent = reduceUi(busier, {type: 'live-load', id: 'B'});
	t.like(silent.panel!.rows[1], {id: 'B', load: undefined, cost: undefined, answering: false});
	t.is(reduceUi(silent, {type: 'live-load', id: 'nobody', load: 1}), silent);
	t.is(reduceUi(createUiState(peer, connected, 0), {type: 'live-load', id: 'A', load: 1}).panel, undefined);
});

test('a download runs through locating, candidates, receiving with speed and ETA, and leaves for the log', t => {
	let state = run([{type: 'command-submitted', key: 3, line: 'download song.mp3', command: {cmd: 'download', name: 'song.mp3'}}]);
	t.deepEqual(state.transfers, [{key: 3, name: 'song.mp3', phase: 'locating', received: 0, firstSampleBytes: 0}]);
	t.deepEqual(state.pending, []);

	state = reduceUi(state, {type: 'download-event', at: 1000, event: {type: 'holders-ranked', name: 'song.mp3',
		ranked: [{id: 'A', url: 'http://127.0.0.1:4001', latencyMs: 150, load: 0, cost: 150}, {id: 'B', url: 'http://127.0.0.1:4002', latencyMs: 400, load: 1, cost: 1400}],
		down: [{id: 'D', url: 'http://127.0.0.1:4004', latencyMs: 2000}]}});
	t.deepEqual(state.panel!.rows.map(row => [row.id, row.mark, row.answering]), [['A', 'candidate', true], ['B', 'candidate', true], ['D', 'down', false]]);
	state = run([
		{type: 'download-event', at: 1000, event: {type: 'holder-chosen', name: 'song.mp3', id: 'B'}},
		{type: 'download-event', at: 1000, event: {type: 'holder-dropped', name: 'song.mp3', id: 'B', why: 'checksum'}},
		{type: 'download-event', at: 1000, event: {type: 'holder-chosen', name: 'song.mp3', id: 'A'}},
		// Another file's panel is not this download's: nothing changes.
		{type: 'download-event', at: 1000, event: {type: 'holder-dropped', name: 'other.bin', id: 'A', why: 'down'}},
	], state);
	t.deepEqual(state.panel, {name: 'song.mp3', origin: 'download', rows: [
		{id: 'A', url: 'http://127.0.0.1:4001', latencyMs: 150, load: 0, cost: 150, mark: 'chosen', answering: true},
		{id: 'B', url: 'http://127.0.0.1:4002', latencyMs: 400, load: 1, cost: 1400, mark: 'checksum', answering: true},
		{id: 'D', url: 'http://127.0.0.1:4004', latencyMs: 2000, mark: 'down', answering: false},
	]});

	state = run([
		{type: 'download-event', at: 1000, event: {type: 'start', name: 'song.mp3', from: 'A', size: 4000}},
		{type: 'download-event', at: 2000, event: {type: 'progress', name: 'song.mp3', from: 'A', received: 1000, size: 4000}},
	], state);
	t.like(state.transfers[0], {phase: 'receiving', from: 'A', size: 4000, received: 1000, firstSampleAt: 2000, firstSampleBytes: 1000, bytesPerSecond: undefined});
	t.deepEqual(transferFigures(state.transfers[0]!), {ratio: 0.25, etaMs: undefined});

	state = reduceUi(state, {type: 'download-event', at: 3000, event: {type: 'progress', name: 'song.mp3', from: 'A', received: 2000, size: 4000}});
	t.is(state.transfers[0]!.bytesPerSecond, 1000);
	t.deepEqual(transferFigures(state.transfers[0]!), {ratio: 0.5, etaMs: 2000});

	const result: CommandResult = {cmd: 'download', ok: true, ...song, path: '/tmp/me/song.mp3', from: 'A', attempts: [{peer: 'A', outcome: 'ok'}]};
	state = reduceUi(state, {type: 'command-finished', key: 3, result});
	t.deepEqual(state.transfers, []);
	t.deepEqual(state.log.at(-1), {id: 1, kind: 'result', text: 'download song.mp3: saved /tmp/me/song.mp3 (1.5 MiB, md5 d08e392ca9da2b83784f74b956b818de) from A after 1 attempt'});
});

test('a failed holder is logged, a new attempt restarts the speed measurement, waiting counts down to a retry', t => {
	let state = run([
		{type: 'command-submitted', key: 0, line: 'download song.mp3', command: {cmd: 'download', name: 'song.mp3'}},
		{type: 'download-event', at: 0, event: {type: 'start', name: 'song.mp3', from: 'A', size: 100}},
		{type: 'download-event', at: 10, event: {type: 'progress', name: 'song.mp3', from: 'A', received: 10, size: 100}},
		{type: 'download-event', at: 20, event: {type: 'progress', name: 'song.mp3', from: 'A', received: 100, size: 100}},
		{type: 'download-event', at: 30, event: {type: 'attempt', name: 'song.mp3', attempt: {peer: 'A', outcome: 'checksum-mismatch'}}},
		{type: 'download-event', at: 40, event: {type: 'start', name: 'song.mp3', from: 'B', size: 100}},
	]);
	t.like(state.transfers[0], {phase: 'receiving', from: 'B', received: 0, firstSampleAt: undefined, bytesPerSecond: undefined});
	t.deepEqual(state.log.at(-1), {id: 1, kind: 'notice', text: 'download song.mp3: holder A failed (checksum-mismatch)'});
	t.is(reduceUi(state, {type: 'download-event', at: 50, event: {type: 'attempt', name: 'song.mp3', attempt: {peer: 'B', outcome: 'ok'}}}).log, state.log);

	t.false(needsClock(state));
	state = reduceUi(state, {type: 'download-event', at: 5000, event: {type: 'waiting', name: 'song.mp3', retryInMs: 1500, reason: 'every holder failed'}});
	t.like(state.transfers[0], {phase: 'waiting', retryAt: 6500});
	t.deepEqual(state.log.at(-1), {id: 2, kind: 'notice', text: 'download song.mp3: every holder failed; retrying in 1.5 s'});
	t.true(needsClock(state));
});

test('two downloads run side by side; events reach the transfer of their file only', t => {
	const state = run([
		{type: 'command-submitted', key: 0, line: 'download song.mp3', command: {cmd: 'download', name: 'song.mp3'}},
		{type: 'command-submitted', key: 1, line: 'download video.mp4', command: {cmd: 'download', name: 'video.mp4'}},
		{type: 'download-event', at: 0, event: {type: 'start', name: 'video.mp4', from: 'E', size: 4_194_304}},
	]);
	t.deepEqual(state.transfers.map(transfer => [transfer.key, transfer.name, transfer.phase, transfer.from]), [
		[0, 'song.mp3', 'locating', undefined],
		[1, 'video.mp4', 'receiving', 'E'],
	]);
	const failed = reduceUi(state, {type: 'command-finished', key: 0, result: {cmd: 'download', ok: false, error: {code: 'NOT_FOUND', message: 'no other peer holds song.mp3'}, attempts: []}});
	t.deepEqual(failed.transfers.map(transfer => transfer.name), ['video.mp4']);
	t.deepEqual(failed.log.at(-1), {id: 2, kind: 'error', text: 'download: error NOT_FOUND: no other peer holds song.mp3'});
});

test('a read through the mount: a row under transfers with its holders and speed, beside a download of the same name, gone when it ends', t => {
	let state = run([
		{type: 'command-submitted', key: 1, line: 'download song.mp3', command: {cmd: 'download', name: 'song.mp3'}},
		{type: 'mount-event', at: 0, event: {type: 'read-start', read: 1, name: 'song.mp3', size: 4000, from: 'A'}},
	]);
	t.deepEqual(state.transfers.map(transfer => [transfer.key, transfer.name, transfer.phase, transfer.from, transfer.viaMount]), [
		[1, 'song.mp3', 'locating', undefined, undefined],
		[-1, 'song.mp3', 'receiving', 'A', true],
	]);

	state = run([
		{type: 'mount-event', at: 1000, event: {type: 'read-progress', read: 1, name: 'song.mp3', from: 'A', received: 1000, size: 4000}},
		{type: 'mount-event', at: 2000, event: {type: 'read-progress', read: 1, name: 'song.mp3', from: 'A, B', received: 3000, size: 4000}},
		// The download of the same name is another transfer: its events leave the read's row alone.
		{type: 'download-event', at: 2000, event: {type: 'start', name: 'song.mp3', from: 'C', size: 4000}},
		// A read this peer never saw start has no row to move.
		{type: 'mount-event', at: 2000, event: {type: 'read-progress', read: 7, name: 'other.bin', from: 'A', received: 5, size: 10}},
	], state);
	t.like(state.transfers[1], {key: -1, from: 'A, B', received: 3000, size: 4000, firstSampleAt: 1000, bytesPerSecond: 2000});
	t.deepEqual(transferFigures(state.transfers[1]!), {ratio: 0.75, etaMs: 500});
	t.like(state.transfers[0], {key: 1, phase: 'receiving', from: 'C'});
	t.is(state.transfers.length, 2);

	const ended = reduceUi(state, {type: 'mount-event', at: 3000, event: {type: 'read-end', read: 1, name: 'song.mp3', outcome: 'placed', message: 'song.mp3 read whole through the mount, checked and shared'}});
	t.deepEqual(ended.transfers.map(transfer => transfer.key), [1]);
	t.is(ended.log, state.log, 'what a read came to is told by the notices, not twice');
});

test('the mount dir is part of the peer the status line shows', t => {
	t.is(createUiState({...peer, mount: '/mnt/xfs'}, connected, 0).peer.mount, '/mnt/xfs');
	t.is(createUiState(peer, connected, 0).peer.mount, undefined);
});

test('a line that does not parse is logged with its code and kept in the history', t => {
	const state = run([{type: 'command-submitted', key: 0, line: 'fnd x', rejected: {cmd: 'parse', ok: false, error: {code: 'BAD_INPUT', message: 'unknown command "fnd"'}}}]);
	t.deepEqual(state.log, [
		{id: 0, kind: 'command', text: '› fnd x'},
		{id: 1, kind: 'error', text: 'parse: error BAD_INPUT: unknown command "fnd"'},
	]);
	t.deepEqual(state.prompt.history, ['fnd x']);
	t.deepEqual(state.pending, []);
});

test('a blank line changes nothing but the prompt', t => {
	const state = run([{type: 'prompt-changed', value: '   '}, {type: 'command-submitted', key: 0, line: '   '}]);
	t.deepEqual(state.log, []);
	t.deepEqual(state.prompt.history, []);
	t.is(state.prompt.value, '');
});

test('exit marks the state as exiting', t => {
	const state = run([{type: 'command-submitted', key: 0, line: 'exit', command: {cmd: 'exit'}}]);
	t.true(state.exiting);
	t.deepEqual(state.log.at(-1), {id: 1, kind: 'notice', text: 'leaving the tracker'});
});

test('history: up walks back, down walks forward and restores the line being typed', t => {
	let state = run(['find a', 'find b', 'find b', 'getload A'].map((line, key) => ({type: 'command-submitted' as const, key, line})));
	t.deepEqual(state.prompt.history, ['find a', 'find b', 'getload A']);
	state = run([{type: 'prompt-changed', value: 'down'}, {type: 'history-previous'}], state);
	t.is(state.prompt.value, 'getload A');
	state = run([{type: 'history-previous'}, {type: 'history-previous'}, {type: 'history-previous'}], state);
	t.is(state.prompt.value, 'find a');
	t.is(state.prompt.historyIndex, 0);
	state = reduceUi(state, {type: 'history-next'});
	t.is(state.prompt.value, 'find b');
	state = run([{type: 'history-next'}, {type: 'history-next'}], state);
	t.is(state.prompt.value, 'down');
	t.is(state.prompt.historyIndex, undefined);
	t.is(reduceUi(state, {type: 'history-next'}), state);
	t.is(reduceUi(createUiState(peer, connected, 0), {type: 'history-previous'}).prompt.value, '');
});

test('history keeps the newest entries only', t => {
	const lines = Array.from({length: historyLimit + 5}, (_, index) => `find f${index}`);
	const state = run(lines.map((line, key) => ({type: 'command-submitted' as const, key, line})));
	t.is(state.prompt.history.length, historyLimit);
	t.is(state.prompt.history[0], 'find f5');
});

test('Tab completes commands, then the file names the tracker knows; replacing the line bumps the revision', t => {
	let state = run([{type: 'tracker-files', names: ['song.mp3', 'photo.jpg', 'paper.pdf']}, {type: 'prompt-changed', value: 'dow'}]);
	const {revision} = state.prompt;
	state = reduceUi(state, {type: 'completion-requested'});
	t.is(state.prompt.value, 'download ');
	t.is(state.prompt.revision, revision + 1);
	state = run([{type: 'prompt-changed', value: 'download p'}, {type: 'completion-requested'}], state);
	t.is(state.prompt.value, 'download p');
	t.deepEqual(state.prompt.choices, ['paper.pdf', 'photo.jpg']);
	state = run([{type: 'prompt-changed', value: 'download ph'}, {type: 'completion-requested'}], state);
	t.is(state.prompt.value, 'download photo.jpg');
	t.deepEqual(state.prompt.choices, []);
});

test('tracker changes: going down, staying down, coming back and a restart are logged once each', t => {
	const waiting = {state: 'waiting', retryAt: 2000, reason: 'tracker down'} as const;
	const state = run([
		{type: 'tracker-changed', status: waiting},
		{type: 'tracker-changed', status: {...waiting, retryAt: 4000}},
		{type: 'tracker-changed', status: connected},
		{type: 'tracker-changed', status: connected},
		{type: 'tracker-changed', status: {state: 'restarted', epoch: 'e2'}},
	]);
	t.deepEqual(state.log.map(entry => entry.text), [
		'tracker unreachable (tracker down): retrying with back-off',
		'tracker reachable again',
		'tracker restarted: sent it the whole file list again',
	]);
	t.deepEqual(state.tracker, {state: 'restarted', epoch: 'e2'});
	t.true(needsClock(run([{type: 'tracker-changed', status: waiting}])));
});

test('load changes, notices and dismissing the panel', t => {
	let state = run([{type: 'load-changed', load: 2}, {type: 'notice', message: 'removed 1 unfinished download(s)'}, {type: 'command-finished', key: 0, result: findResult}]);
	t.is(state.load, 2);
	t.deepEqual(state.log[0], {id: 0, kind: 'notice', text: 'removed 1 unfinished download(s)'});
	state = reduceUi(state, {type: 'panel-dismissed'});
	t.is(state.panel, undefined);
	t.is(reduceUi(state, {type: 'panel-dismissed'}), state);
});

test('text arriving in one piece is split into whole lines and the rest', t => {
	t.deepEqual(splitTypedLines('find song.mp3'), {lines: [], rest: 'find song.mp3'});
	t.deepEqual(splitTypedLines('find song.mp3\r'), {lines: ['find song.mp3'], rest: ''});
	t.deepEqual(splitTypedLines('ls\r\ngetload A\ndown'), {lines: ['ls', 'getload A'], rest: 'down'});
});

test('an empty file is complete once its transfer has a sample', t => {
	const base = {key: 0, name: 'empty', received: 0, firstSampleBytes: 0, size: 0} as const;
	t.deepEqual(transferFigures({...base, phase: 'receiving'}), {ratio: 0, etaMs: undefined});
	t.deepEqual(transferFigures({...base, phase: 'receiving', firstSampleAt: 5}), {ratio: 1, etaMs: undefined});
});
