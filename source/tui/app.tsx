/** The interactive screen: the event log above, then the status line, candidates, transfers and the prompt. */
import {Box, useApp} from 'ink';
import {useCallback, useEffect, useRef} from 'react';
import {getLoad} from '../clients/peer-client.js';
import type {PeerNode} from '../peer/peer-node.js';
import {CandidatePanel} from './components/candidate-panel.js';
import {EventLog} from './components/event-log.js';
import {PendingCommands} from './components/pending-commands.js';
import {Prompt} from './components/prompt.js';
import {StatusLine} from './components/status-line.js';
import {TransferList} from './components/transfer-list.js';
import {useCommandRunner} from './hooks/use-command-runner.js';
import {useLiveLoad, type LoadProbe} from './hooks/use-live-load.js';
import {useNow} from './hooks/use-now.js';
import {PaletteContext, paletteFor} from './hooks/use-palette.js';
import {usePeerEvents} from './hooks/use-peer-events.js';
import {usePromptKeys} from './hooks/use-prompt-keys.js';
import {useTerminalWidth} from './hooks/use-terminal-width.js';
import {useTrackerFiles, type FileNameSource} from './hooks/use-tracker-files.js';
import {useUiState} from './hooks/use-ui-state.js';
import {needsClock, splitTypedLines} from './ui-state.js';

type Props = {
	readonly node: PeerNode;
	/** Lines printed first in the event log (the demo says what it started). */
	readonly banner?: readonly string[];
	readonly colors?: boolean;
	/** Load probe of the candidate panel; GetLoad over HTTP unless a test gives another. */
	readonly probeLoad?: LoadProbe;
	readonly liveLoadIntervalMs?: number;
};

const liveProbeTimeoutMs = 800;
const noBanner: readonly string[] = [];

export const probeOverHttp: LoadProbe = async url => (await getLoad(url, {timeoutMs: liveProbeTimeoutMs})).load;

export function App({node, banner = noBanner, colors = true, probeLoad = probeOverHttp, liveLoadIntervalMs = 1000}: Props) {
	const [state, dispatch] = useUiState(
		{id: node.config.id, url: node.url, shareDir: node.shareDir, latencyScale: node.config.latencyScale, k: node.config.k, mount: node.mountDir},
		node.trackerStatus,
		node.load.load,
		banner,
	);
	const {exit} = useApp();
	const width = useTerminalWidth();
	const now = useNow(needsClock(state));
	const submit = useCommandRunner(node, dispatch);
	const listFiles: FileNameSource = useCallback(async () => (await node.tracker.files()).map(file => file.name), [node]);
	// The line on screen. The text input computes each edit from the value of its last render, and Ink
	// re-subscribes its key handler only after rendering: a key read in between must not act on an old line.
	const shownPrompt = useRef(state.prompt);
	shownPrompt.current = state.prompt;
	const onChange = useCallback((value: string, revision: number) => {
		if (revision !== shownPrompt.current.revision) {
			// Typed into an input that history or completion has just replaced: dropping the key beats undoing the replacement.
			return;
		}

		const {lines, rest} = splitTypedLines(value);
		for (const line of lines) {
			submit(line);
		}

		dispatch({type: 'prompt-changed', value: rest});
	}, [dispatch, submit]);
	const onSubmit = useCallback(() => {
		submit(shownPrompt.current.value);
	}, [submit]);
	usePeerEvents(node, dispatch);
	useLiveLoad(state.panel?.rows, dispatch, probeLoad, liveLoadIntervalMs);
	useTrackerFiles(listFiles, dispatch, state.finished);
	usePromptKeys(dispatch);
	useEffect(() => {
		if (state.exiting) {
			exit();
		}
	}, [state.exiting, exit]);

	return (
		<PaletteContext.Provider value={paletteFor(colors)}>
			<EventLog entries={state.log}/>
			<Box flexDirection="column" width={width}>
				<StatusLine peer={state.peer} tracker={state.tracker} load={state.load} watch={state.watch} now={now} width={width}/>
				{state.panel !== undefined && (
					<Box marginTop={1}>
						<CandidatePanel panel={state.panel} width={width}/>
					</Box>
				)}
				{state.transfers.length > 0 && (
					<Box marginTop={1}>
						<TransferList transfers={state.transfers} now={now} width={width}/>
					</Box>
				)}
				<Box marginTop={1} flexDirection="column">
					<PendingCommands commands={state.pending}/>
					{!state.exiting && <Prompt value={state.prompt.value} revision={state.prompt.revision} choices={state.prompt.choices} onChange={onChange} onSubmit={onSubmit}/>}
				</Box>
			</Box>
		</PaletteContext.Provider>
	);
}
