/** While the candidate panel is shown, asks each holder for its load about once a second. */
import {useEffect} from 'react';
import type {PanelRow} from '../ui-state.js';
import type {UiDispatch} from './use-ui-state.js';

/** GetLoad of one holder; undefined when it does not answer. */
export type LoadProbe = (url: string) => Promise<number | undefined>;

export function useLiveLoad(rows: readonly PanelRow[] | undefined, dispatch: UiDispatch, probe: LoadProbe, intervalMs = 1000): void {
	// A string key: the polling restarts only when the set of holders changes, not on every refresh.
	const targets = (rows ?? []).filter(row => row.url !== '').map(row => `${row.id} ${row.url}`).join('\n');
	useEffect(() => {
		if (targets === '') {
			return;
		}

		const holders = targets.split('\n').map(line => {
			const [id, url] = line.split(' ') as [string, string];
			return {id, url};
		});
		let stopped = false;
		let inFlight = false;
		const timer = setInterval(async () => {
			if (inFlight) {
				return;
			}

			inFlight = true;
			await Promise.all(holders.map(async ({id, url}) => {
				const load = await probe(url).catch(() => undefined);
				if (!stopped) {
					dispatch({type: 'live-load', id, load});
				}
			}));
			inFlight = false;
		}, intervalMs);
		return () => {
			stopped = true;
			clearInterval(timer);
		};
	}, [targets, dispatch, probe, intervalMs]);
}
