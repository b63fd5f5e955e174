/** Runs prompt lines through the shared command layer without blocking the prompt: each command is its own promise. */
import {useCallback, useRef} from 'react';
import {parseCommand, type Command} from '../../commands/command-parser.js';
import {failure, runCommand} from '../../commands/commands.js';
import type {PeerNode} from '../../peer/peer-node.js';
import type {UiDispatch} from './use-ui-state.js';

export function useCommandRunner(node: PeerNode, dispatch: UiDispatch): (line: string) => void {
	const nextKey = useRef(0);
	return useCallback((line: string) => {
		const key = nextKey.current++;
		let command: Command | undefined;
		try {
			command = parseCommand(line);
		} catch (error) {
			dispatch({type: 'command-submitted', key, line, rejected: failure('parse', error)});
			return;
		}

		dispatch({type: 'command-submitted', key, line, command});
		if (!command || command.cmd === 'exit') {
			return;
		}

		const {cmd} = command;
		void runCommand(node, command).then(result => {
			dispatch({type: 'command-finished', key, result});
		}, (error: unknown) => {
			dispatch({type: 'command-finished', key, result: failure(cmd, error)});
		});
	}, [node, dispatch]);
}
