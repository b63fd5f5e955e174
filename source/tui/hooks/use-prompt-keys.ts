/** The keys the text input leaves alone: up/down walk the history, Tab completes, Esc hides the candidate panel. */
import {useInput} from 'ink';
import type {UiDispatch} from './use-ui-state.js';

export function usePromptKeys(dispatch: UiDispatch): void {
	useInput((_input, key) => {
		if (key.upArrow) {
			dispatch({type: 'history-previous'});
		} else if (key.downArrow) {
			dispatch({type: 'history-next'});
		} else if (key.tab) {
			dispatch({type: 'completion-requested'});
		} else if (key.escape) {
			dispatch({type: 'panel-dismissed'});
		}
	});
}
