/** Feeds the peer's events (tracker state, load, download and mount progress, notices) into the UI state. */
import {useEffect} from 'react';
import type {MountEvent} from '../../core/mount-events.js';
import type {DownloadEvent} from '../../core/transfer-types.js';
import type {WatchState} from '../../core/settle.js';
import type {TrackerStatus} from '../../core/tracker-link.js';
import type {PeerNode} from '../../peer/peer-node.js';
import type {UiDispatch} from './use-ui-state.js';

/** Progress arrives once per network chunk; the screen needs it about ten times a second. */
export const progressIntervalMs = 100;

export function usePeerEvents(node: PeerNode, dispatch: UiDispatch): void {
	useEffect(() => {
		const latestProgress = new Map<string, {event: DownloadEvent; at: number} | {event: MountEvent; at: number; mount: true}>();
		let progressTimer: NodeJS.Timeout | undefined;
		const flushProgress = () => {
			clearTimeout(progressTimer);
			progressTimer = undefined;
			for (const sample of latestProgress.values()) {
				dispatch('mount' in sample ? {type: 'mount-event', event: sample.event, at: sample.at} : {type: 'download-event', event: sample.event, at: sample.at});
			}

			latestProgress.clear();
		};

		const onTracker = (status: TrackerStatus) => {
			dispatch({type: 'tracker-changed', status});
		};

		const onLoad = (load: number) => {
			dispatch({type: 'load-changed', load});
		};

		const onWatch = (watch: WatchState) => {
			dispatch({type: 'watch-changed', watch});
		};

		const onDownload = (event: DownloadEvent) => {
			// A multi-source download's per-holder figures are a snapshot too: the latest one is enough.
			if (event.type === 'progress' || event.type === 'sources') {
				latestProgress.set(`${event.type}:${event.name}`, {event, at: Date.now()});
				progressTimer ??= setTimeout(flushProgress, progressIntervalMs);
				return;
			}

			// Progress held back so far lands first: events of one download keep their order.
			flushProgress();
			dispatch({type: 'download-event', event, at: Date.now()});
		};

		const onMount = (event: MountEvent) => {
			if (event.type === 'read-progress') {
				latestProgress.set(`mount:${event.read}`, {event, at: Date.now(), mount: true});
				progressTimer ??= setTimeout(flushProgress, progressIntervalMs);
				return;
			}

			flushProgress();
			dispatch({type: 'mount-event', event, at: Date.now()});
		};

		const onNotice = (message: string) => {
			dispatch({type: 'notice', message});
		};

		node.on('tracker', onTracker);
		node.on('load', onLoad);
		node.on('watch', onWatch);
		node.on('download', onDownload);
		node.on('mount', onMount);
		node.on('notice', onNotice);
		// Whatever changed between the first render and this subscription.
		onTracker(node.trackerStatus);
		onLoad(node.load.load);
		onWatch(node.watchState);
		return () => {
			clearTimeout(progressTimer);
			node.off('tracker', onTracker);
			node.off('load', onLoad);
			node.off('watch', onWatch);
			node.off('download', onDownload);
			node.off('mount', onMount);
			node.off('notice', onNotice);
		};
	}, [node, dispatch]);
}
