/** The TUI's state and every way it changes: a pure reducer over a discriminated union of actions (no Ink, no I/O). */
import {commandNames, type Command} from '../commands/command-parser.js';
import type {CommandFailure, CommandResult} from '../commands/commands.js';
import {costOf} from '../core/cost.js';
import type {MountEvent} from '../core/mount-events.js';
import type {DownloadEvent} from '../core/transfer-types.js';
import {formatResult} from '../commands/format.js';
import type {SourceSnapshot} from '../core/part-scheduler.js';
import {watchOff, type WatchState} from '../core/settle.js';
import type {TrackerStatus} from '../core/tracker-link.js';
import {completeLine} from './completion.js';

export type PeerIdentity = {id: string; url: string; shareDir: string; latencyScale: number; k: number; mount?: string};

/** How a download is treating a holder, as the candidate panel shows it. */
export type RowMark = 'candidate' | 'chosen' | 'checksum' | 'down';

/** One holder in the candidate panel; load and cost follow the live GetLoad refresh. */
export type PanelRow = {
	id: string;
	/** Empty for a holder the tracker named but that did not answer GetLoad during find. */
	url: string;
	latencyMs?: number;
	load?: number;
	cost?: number;
	mark: RowMark;
	/** False once a live GetLoad went unanswered. */
	answering: boolean;
};

export type CandidatePanel = {name: string; origin: 'find' | 'download'; rows: PanelRow[]};

export type TransferRow = {
	/** The command that started it: two downloads of one name are two transfers. A read through the mount has its own (negative) key. */
	key: number;
	/** A remote file being read through the mount, not a download command. */
	viaMount?: boolean;
	name: string;
	phase: 'locating' | 'receiving' | 'waiting';
	from?: string;
	size?: number;
	received: number;
	/** First progress sample of the current attempt: speed is measured from here. */
	firstSampleAt?: number;
	firstSampleBytes: number;
	bytesPerSecond?: number;
	retryAt?: number;
	/** A multi-source download: what each holder is doing and has sent. */
	sources?: SourceSnapshot[];
};

export type LogEntry = {id: number; kind: 'banner' | 'command' | 'result' | 'error' | 'notice'; text: string};

export type PendingCommand = {key: number; line: string};

export type PromptState = {
	value: string;
	history: string[];
	/** Position while browsing the history with up/down; undefined when editing a new line. */
	historyIndex?: number;
	/** The line being typed before browsing started; down past the newest entry restores it. */
	draft: string;
	/** Matches of the last ambiguous Tab. */
	choices: string[];
	/** Bumped when the line is replaced (history, completion) so the input puts its cursor at the end. */
	revision: number;
};

export type UiState = {
	peer: PeerIdentity;
	tracker: TrackerStatus;
	load: number;
	/** How the share dir's changes are found (the status line says it). */
	watch: WatchState;
	panel?: CandidatePanel;
	transfers: TransferRow[];
	pending: PendingCommand[];
	log: LogEntry[];
	nextLogId: number;
	prompt: PromptState;
	knownFiles: string[];
	/** Commands finished so far; hooks refresh what a command may have changed. */
	finished: number;
	exiting: boolean;
};

export type UiAction =
	| {type: 'prompt-changed'; value: string}
	| {type: 'history-previous'}
	| {type: 'history-next'}
	| {type: 'completion-requested'}
	| {type: 'command-submitted'; key: number; line: string; command?: Command; rejected?: CommandFailure}
	| {type: 'command-finished'; key: number; result: CommandResult}
	| {type: 'download-event'; event: DownloadEvent; at: number}
	| {type: 'mount-event'; event: MountEvent; at: number}
	| {type: 'tracker-changed'; status: TrackerStatus}
	| {type: 'load-changed'; load: number}
	| {type: 'watch-changed'; watch: WatchState}
	| {type: 'notice'; message: string}
	| {type: 'live-load'; id: string; load?: number}
	| {type: 'tracker-files'; names: string[]}
	| {type: 'panel-dismissed'};

export const historyLimit = 100;

export function createUiState(peer: PeerIdentity, tracker: TrackerStatus, load: number, banner: readonly string[] = [], watch: WatchState = watchOff): UiState {
	return {
		peer,
		tracker,
		load,
		watch,
		transfers: [],
		pending: [],
		log: banner.map((text, index) => ({id: index, kind: 'banner', text})),
		nextLogId: banner.length,
		prompt: {value: '', history: [], draft: '', choices: [], revision: 0},
		knownFiles: [],
		finished: 0,
		exiting: false,
	};
}

export function reduceUi(state: UiState, action: UiAction): UiState {
	switch (action.type) {
		case 'prompt-changed': {
			return {...state, prompt: {...state.prompt, value: action.value, historyIndex: undefined, choices: []}};
		}

		case 'history-previous': {
			const {prompt} = state;
			if (prompt.history.length === 0) {
				return state;
			}

			const index = prompt.historyIndex === undefined ? prompt.history.length - 1 : Math.max(0, prompt.historyIndex - 1);
			return {...state, prompt: {
				...prompt,
				value: prompt.history[index]!,
				historyIndex: index,
				draft: prompt.historyIndex === undefined ? prompt.value : prompt.draft,
				choices: [],
				revision: prompt.revision + 1,
			}};
		}

		case 'history-next': {
			const {prompt} = state;
			if (prompt.historyIndex === undefined) {
				return state;
			}

			const index = prompt.historyIndex + 1;
			const newest = index >= prompt.history.length;
			return {...state, prompt: {
				...prompt,
				value: newest ? prompt.draft : prompt.history[index]!,
				historyIndex: newest ? undefined : index,
				choices: [],
				revision: prompt.revision + 1,
			}};
		}

		case 'completion-requested': {
			const {value, choices} = completeLine(state.prompt.value, commandNames, state.knownFiles);
			const changed = value !== state.prompt.value;
			return {...state, prompt: {
				...state.prompt,
				value,
				choices,
				historyIndex: changed ? undefined : state.prompt.historyIndex,
				revision: changed ? state.prompt.revision + 1 : state.prompt.revision,
			}};
		}

		case 'command-submitted': {
			return submitted(state, action);
		}

		case 'command-finished': {
			return finished(state, action.key, action.result);
		}

		case 'download-event': {
			return downloadEvent(state, action.event, action.at);
		}

		case 'mount-event': {
			return mountEvent(state, action.event, action.at);
		}

		case 'tracker-changed': {
			const next = {...state, tracker: action.status};
			const was = state.tracker.state;
			const now = action.status.state;
			if (now === 'restarted') {
				return appendLog(next, 'notice', 'tracker restarted: sent it the whole file list again');
			}

			if (now === 'waiting' && was !== 'waiting') {
				return appendLog(next, 'notice', `tracker unreachable (${action.status.reason}): retrying with back-off`);
			}

			if (now === 'connected' && was === 'waiting') {
				return appendLog(next, 'notice', 'tracker reachable again');
			}

			return next;
		}

		case 'load-changed': {
			return {...state, load: action.load};
		}

		case 'watch-changed': {
			return {...state, watch: action.watch};
		}

		case 'notice': {
			return appendLog(state, 'notice', action.message);
		}

		case 'live-load': {
			if (!state.panel?.rows.some(row => row.id === action.id)) {
				return state;
			}

			const rows = state.panel.rows.map(row => (row.id === action.id
				? {
					...row,
					load: action.load,
					cost: action.load === undefined || row.latencyMs === undefined ? undefined : costOf(row.latencyMs, action.load, state.peer.k),
					answering: action.load !== undefined,
				}
				: row));
			return {...state, panel: {...state.panel, rows}};
		}

		case 'tracker-files': {
			return {...state, knownFiles: [...action.names].sort()};
		}

		case 'panel-dismissed': {
			return state.panel ? {...state, panel: undefined} : state;
		}
	}
}

function submitted(state: UiState, action: Extract<UiAction, {type: 'command-submitted'}>): UiState {
	const line = action.line.trim();
	const prompt: PromptState = {
		...state.prompt,
		value: '',
		historyIndex: undefined,
		draft: '',
		choices: [],
		history: line === '' || state.prompt.history.at(-1) === line
			? state.prompt.history
			: [...state.prompt.history, line].slice(-historyLimit),
	};
	if (line === '') {
		return {...state, prompt};
	}

	let next = appendLog({...state, prompt}, 'command', `› ${line}`);
	if (action.rejected) {
		return appendLog(next, 'error', formatResult(action.rejected));
	}

	const {command} = action;
	if (!command) {
		return next;
	}

	if (command.cmd === 'exit') {
		next = appendLog(next, 'notice', 'leaving the tracker');
		return {...next, exiting: true};
	}

	if (command.cmd === 'download') {
		return {...next, transfers: [...next.transfers, {key: action.key, name: command.name, phase: 'locating', received: 0, firstSampleBytes: 0}]};
	}

	return {...next, pending: [...next.pending, {key: action.key, line}]};
}

function finished(state: UiState, key: number, result: CommandResult): UiState {
	let next: UiState = {
		...state,
		transfers: state.transfers.filter(transfer => transfer.key !== key),
		pending: state.pending.filter(command => command.key !== key),
		finished: state.finished + 1,
	};
	if (result.cmd === 'find' && result.ok) {
		next = {...next, panel: {
			name: result.name,
			origin: 'find',
			rows: [
				...result.peers.map(peer => ({id: peer.id, url: peer.url, latencyMs: peer.latencyMs, load: peer.load, cost: peer.cost, mark: 'candidate' as const, answering: true})),
				...result.down.map(id => ({id, url: '', mark: 'down' as const, answering: false})),
			],
		}};
	}

	return appendLog(next, result.ok ? 'result' : 'error', formatResult(result));
}

function downloadEvent(state: UiState, event: DownloadEvent, at: number): UiState {
	const update = (change: (transfer: TransferRow) => TransferRow): TransferRow[] =>
		state.transfers.map(transfer => (transfer.name === event.name && !transfer.viaMount ? change(transfer) : transfer));
	switch (event.type) {
		case 'holders-ranked': {
			return {...state, panel: {
				name: event.name,
				origin: 'download',
				rows: [
					...event.ranked.map(holder => ({...holder, mark: 'candidate' as const, answering: true})),
					...event.down.map(holder => ({...holder, mark: 'down' as const, answering: false})),
				],
			}};
		}

		case 'holder-chosen':
		case 'holder-dropped': {
			const mark: RowMark = event.type === 'holder-chosen' ? 'chosen' : event.why;
			return markRow(state, event.name, event.id, mark);
		}

		case 'start': {
			return {...state, transfers: update(transfer => ({
				...transfer,
				phase: 'receiving',
				from: event.from,
				size: event.size,
				received: 0,
				firstSampleAt: undefined,
				firstSampleBytes: 0,
				bytesPerSecond: undefined,
				retryAt: undefined,
				sources: undefined,
			}))};
		}

		case 'sources': {
			return {...state, transfers: update(transfer => ({...transfer, sources: event.sources}))};
		}

		case 'progress': {
			return {...state, transfers: update(transfer => sampled(transfer, event.received, event.size, at))};
		}

		case 'attempt': {
			if (event.attempt.outcome === 'ok') {
				return state;
			}

			return appendLog(state, 'notice', `download ${event.name}: holder ${event.attempt.peer} failed (${event.attempt.outcome})`);
		}

		case 'waiting': {
			const next = {...state, transfers: update(transfer => ({...transfer, phase: 'waiting' as const, retryAt: at + event.retryInMs}))};
			return appendLog(next, 'notice', `download ${event.name}: ${event.reason}; retrying in ${(event.retryInMs / 1000).toFixed(1)} s`);
		}
	}
}

/** A read through the mount: a row under transfers while it fetches, with its holders; what it came to is in the notices. */
function mountEvent(state: UiState, event: MountEvent, at: number): UiState {
	const key = -event.read;
	switch (event.type) {
		case 'read-start': {
			const row: TransferRow = {key, viaMount: true, name: event.name, phase: 'receiving', from: event.from, size: event.size, received: 0, firstSampleBytes: 0};
			return {...state, transfers: [...state.transfers.filter(transfer => transfer.key !== key), row]};
		}

		case 'read-progress': {
			return {...state, transfers: state.transfers.map(transfer => (transfer.key === key ? sampled({...transfer, from: event.from}, event.received, event.size, at) : transfer))};
		}

		case 'read-end': {
			return {...state, transfers: state.transfers.filter(transfer => transfer.key !== key)};
		}
	}
}

/** A transfer with a new progress sample: the speed is measured from its first sample. */
function sampled(transfer: TransferRow, received: number, size: number, at: number): TransferRow {
	if (transfer.firstSampleAt === undefined) {
		return {...transfer, received, size, firstSampleAt: at, firstSampleBytes: received};
	}

	const seconds = (at - transfer.firstSampleAt) / 1000;
	return {...transfer, received, size, bytesPerSecond: seconds > 0 ? (received - transfer.firstSampleBytes) / seconds : transfer.bytesPerSecond};
}

/** Marks one holder's row of the download's panel (a panel of another name is left as it is). */
function markRow(state: UiState, name: string, id: string, mark: RowMark): UiState {
	const {panel} = state;
	if (panel?.origin !== 'download' || panel.name !== name || !panel.rows.some(row => row.id === id)) {
		return state;
	}

	return {...state, panel: {...panel, rows: panel.rows.map(row => (row.id === id ? {...row, mark} : row))}};
}

function appendLog(state: UiState, kind: LogEntry['kind'], text: string): UiState {
	return {...state, log: [...state.log, {id: state.nextLogId, kind, text}], nextLogId: state.nextLogId + 1};
}

/** Whether the screen shows something that changes with time alone (countdowns, ETA). */
export function needsClock(state: UiState): boolean {
	return state.tracker.state === 'waiting' || state.transfers.some(transfer => transfer.phase === 'waiting');
}

/** Derived figures of one transfer: fraction done and the time left at the measured speed. */
export function transferFigures(transfer: TransferRow): {ratio: number; etaMs?: number} {
	const size = transfer.size ?? 0;
	const ratio = size === 0 ? (transfer.phase === 'receiving' && transfer.firstSampleAt !== undefined ? 1 : 0) : Math.min(1, transfer.received / size);
	const etaMs = transfer.bytesPerSecond && transfer.bytesPerSecond > 0 ? ((size - transfer.received) / transfer.bytesPerSecond) * 1000 : undefined;
	return {ratio, etaMs};
}

/** Text that arrives in one piece (a paste, or keys sent faster than they are read) may hold whole lines: each is a command. */
export function splitTypedLines(value: string): {lines: string[]; rest: string} {
	const parts = value.split(/\r\n|\r|\n/);
	const rest = parts.pop() ?? '';
	return {lines: parts, rest};
}
