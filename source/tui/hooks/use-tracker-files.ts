/** Keeps the names of the files the tracker knows, for Tab completion: at start, after each command, and every few seconds. */
import {useEffect} from 'react';
import type {UiDispatch} from './use-ui-state.js';

/** One call to the tracker, no waiting: a tracker that is down just leaves the last list. */
export type FileNameSource = () => Promise<string[]>;

export function useTrackerFiles(list: FileNameSource, dispatch: UiDispatch, refreshKey: number, intervalMs = 5000): void {
	useEffect(() => {
		let stopped = false;
		const refresh = () => {
			list().then(names => {
				if (!stopped) {
					dispatch({type: 'tracker-files', names});
				}
			}, () => {});
		};

		refresh();
		const timer = setInterval(refresh, intervalMs);
		return () => {
			stopped = true;
			clearInterval(timer);
		};
	}, [list, dispatch, refreshKey, intervalMs]);
}
