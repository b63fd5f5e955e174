/** Who and where this peer is, how it stands with the tracker, and where the network is mounted: two lines at the top of the live area. */
import {Box, Text} from 'ink';
import {usePalette, type Palette} from '../hooks/use-palette.js';
import {watchOff, type WatchState} from '../../core/settle.js';
import type {TrackerStatus} from '../../core/tracker-link.js';
import {fitEnd, fitStart} from '../ui-text.js';
import type {PeerIdentity} from '../ui-state.js';

type Props = {
	readonly peer: PeerIdentity;
	readonly tracker: TrackerStatus;
	readonly load: number;
	readonly watch?: WatchState;
	readonly now: number;
	readonly width: number;
};

export function StatusLine({peer, tracker, load, watch = watchOff, now, width}: Props) {
	const palette = usePalette();
	const head = `peer ${peer.id}  `;
	const url = fitEnd(peer.url, Math.max(12, width - head.length - 14)).trimEnd();
	const shareLabel = '  share ';
	const share = fitStart(peer.shareDir, Math.max(8, width - head.length - url.length - shareLabel.length));
	const {text, color} = trackerText(tracker, now, palette);
	return (
		<Box flexDirection="column">
			<Text wrap="truncate">
				<Text bold>{head}</Text>
				{url}
				<Text dimColor={palette.dim}>{shareLabel}</Text>
				{share}
			</Text>
			<Text wrap="truncate">
				{'tracker '}
				<Text color={color}>{text}</Text>
				{`  load ${load}`}
				{peer.latencyScale === 1 ? '' : `  latency ×${peer.latencyScale}`}
				{peer.mount === undefined ? '' : `  mounted at ${peer.mount}`}
				<Text dimColor={palette.dim}>{`  ${watchText(watch)}`}</Text>
			</Text>
		</Box>
	);
}

/** How the share dir's changes are found, in a few words. */
export function watchText(watch: WatchState): string {
	switch (watch.state) {
		case 'watching': {
			return watch.rescanMs > 0 ? `watching (rescan every ${watch.rescanMs / 1000} s)` : 'watching';
		}

		case 'rescanning': {
			return `rescanning every ${watch.rescanMs / 1000} s`;
		}

		case 'off': {
			return 'watch off';
		}
	}
}

function trackerText(status: TrackerStatus, now: number, palette: Palette): {text: string; color?: string} {
	switch (status.state) {
		case 'connecting': {
			return {text: 'connecting', color: palette.warning};
		}

		case 'connected': {
			return {text: 'connected', color: palette.good};
		}

		case 'waiting': {
			const seconds = Math.max(0, status.retryAt - now) / 1000;
			return {text: `waiting (${status.reason}), retry in ${seconds.toFixed(1)} s`, color: palette.bad};
		}

		case 'restarted': {
			return {text: 'restarted, list sent again', color: palette.accent};
		}
	}
}
