/** The TUI's state: the pure reducer of ui-state.ts behind React's useReducer. */
import {useReducer} from 'react';
import {createUiState, reduceUi, type PeerIdentity, type UiAction, type UiState} from '../ui-state.js';
import type {TrackerStatus} from '../../core/tracker-link.js';

export type UiDispatch = (action: UiAction) => void;

export function useUiState(peer: PeerIdentity, tracker: TrackerStatus, load: number, banner: readonly string[]): [UiState, UiDispatch] {
	return useReducer(reduceUi, undefined, () => createUiState(peer, tracker, load, banner));
}
