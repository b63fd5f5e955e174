import test from 'ava';
import {render} from 'ink-testing-library';
import {CandidatePanel} from '../../../source/tui/components/candidate-panel.js';
import {TransferList} from '../../../source/tui/components/transfer-list.js';
import {createUiState, reduceUi, type TransferRow, type UiAction, type UiState} from '../../../source/tui/ui-state.js';

const peer = {id: 'me', url: 'http://127.0.0.1:4000', shareDir: '/tmp/me', latencyScale: 0.05, k: 1000};

function run(actions: UiAction[], state: UiState = createUiState(peer, {state: 'connected', epoch: 'e1'}, 0)): UiState {
	return actions.reduce(reduceUi, state);
}

test('a multi-source download keeps the latest figures of each holder; a new attempt clears them', t => {
	let state = run([
		{type: 'command-submitted', key: 0, line: 'download big.bin', command: {cmd: 'download', name: 'big.bin'}},
		{type: 'download-event', at: 0, event: {type: 'start', name: 'big.bin', from: 'A+B', size: 8_388_608}},
		{type: 'download-event', at: 10, event: {type: 'sources', name: 'big.bin', sources: [
			{id: 'A', state: 'fetching', parts: 0, received: 1000},
			{id: 'B', state: 'fetching', parts: 0, received: 500},
		]}},
		{type: 'download-event', at: 20, event: {type: 'sources', name: 'big.bin', sources: [
			{id: 'A', state: 'fetching', parts: 1, received: 4_200_000},
			{id: 'B', state: 'failed', parts: 0, received: 700},
		]}},
	]);
	t.deepEqual(state.transfers[0]!.sources, [
		{id: 'A', state: 'fetching', parts: 1, received: 4_200_000},
		{id: 'B', state: 'failed', parts: 0, received: 700},
	]);
	state = reduceUi(state, {type: 'download-event', at: 30, event: {type: 'start', name: 'big.bin', from: 'A', size: 8_388_608}});
	t.is(state.transfers[0]!.sources, undefined);
});

test('transfer list: one row per holder under a multi-source download', t => {
	const transfers: TransferRow[] = [{
		key: 0, name: 'big.bin', phase: 'receiving', from: 'A+B+C', size: 8_388_608, received: 4_194_304, firstSampleAt: 0, firstSampleBytes: 0, bytesPerSecond: 1_048_576,
		sources: [
			{id: 'A', state: 'fetching', parts: 1, received: 3_145_728},
			{id: 'B', state: 'racing', parts: 0, received: 1_048_576},
			{id: 'C', state: 'corrupt', parts: 0, received: 2_097_152},
		],
	}];
	const {lastFrame} = render(<TransferList transfers={transfers} now={0} width={80}/>);
	t.is(lastFrame(), [
		'transfers',
		'big.bin      ████░░░░  50% 4.0 MiB/8.0 MiB    1.0 MiB/s ETA 4s    from A+B+C',
		'  A          fetching    1 part   3.0 MiB',
		'  B          racing     0 parts   1.0 MiB',
		'  C          corrupt    0 parts   2.0 MiB',
	].join('\n'));
});

test('swarm: partial holders join the candidate panel marked with their parts, and a partial source shows what it has', t => {
	const state = run([
		{type: 'command-submitted', key: 0, line: 'download big.bin', command: {cmd: 'download', name: 'big.bin'}},
		{type: 'download-event', at: 0, event: {type: 'holders-ranked', name: 'big.bin', ranked: [{id: 'S', url: 'http://127.0.0.1:4001', latencyMs: 100, load: 0, cost: 100}], down: []}},
		{type: 'download-event', at: 1, event: {type: 'partial-holders', name: 'big.bin', holders: [{id: 'P', url: 'http://127.0.0.1:4002', have: 3, of: 16}]}},
		{type: 'download-event', at: 2, event: {type: 'holder-chosen', name: 'big.bin', id: 'P'}},
	]);
	t.deepEqual(state.panel!.rows.map(row => [row.id, row.mark, row.partial]), [['S', 'candidate', undefined], ['P', 'chosen', {have: 3, of: 16}]]);
	const {lastFrame} = render(<CandidatePanel panel={state.panel!} width={100}/>);
	t.regex(lastFrame()!, /▶ P +http:\/\/127\.0\.0\.1:4002 .* chosen {2}partial 3\/16/);
	const transfers: TransferRow[] = [{
		key: 0, name: 'big.bin', phase: 'receiving', from: 'S', size: 4_194_304, received: 1_048_576, firstSampleAt: 0, firstSampleBytes: 0,
		sources: [{id: 'S', state: 'fetching', parts: 2, received: 786_432}, {id: 'P', state: 'fetching', parts: 1, received: 262_144, have: 5, of: 16}],
	}];
	const list = render(<TransferList transfers={transfers} now={0} width={100}/>).lastFrame()!;
	t.regex(list, /P +fetching +1 part .*has 5\/16/);
	t.notRegex(list, /S +fetching.*has/);
});
