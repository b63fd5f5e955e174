/** Commands other than downloads still waiting for their answer (a find while the tracker is down, a slow getload). */
import {Box, Text} from 'ink';
import {usePalette} from '../hooks/use-palette.js';
import type {PendingCommand} from '../ui-state.js';

type Props = {
	readonly commands: readonly PendingCommand[];
};

export function PendingCommands({commands}: Props) {
	const palette = usePalette();
	return (
		<Box flexDirection="column">
			{commands.map(command => (
				<Text key={command.key} dimColor={palette.dim}>{`… ${command.line}`}</Text>
			))}
		</Box>
	);
}
