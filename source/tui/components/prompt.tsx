/** The command line: a text input, the matches of an ambiguous Tab, and the keys. */
import {Box, Text} from 'ink';
import TextInput from 'ink-text-input';
import {usePalette} from '../hooks/use-palette.js';

type Props = {
	readonly value: string;
	/** Changes when the line is replaced from outside (history, completion): the input is remounted so its cursor goes to the end. */
	readonly revision: number;
	readonly choices: readonly string[];
	/** Both carry the revision of the input that read the key, so the app can tell a replaced input's late keys. */
	readonly onChange: (value: string, revision: number) => void;
	readonly onSubmit: (revision: number) => void;
};

export function Prompt({value, revision, choices, onChange, onSubmit}: Props) {
	const palette = usePalette();
	return (
		<Box flexDirection="column">
			<Box>
				<Text bold color={palette.accent}>{'› '}</Text>
				<TextInput
					key={revision}
					value={value}
					onChange={changed => {
						onChange(changed, revision);
					}}
					onSubmit={() => {
						onSubmit(revision);
					}}
				/>
			</Box>
			{choices.length > 0 && <Text>{`  ${choices.join('  ')}`}</Text>}
			<Text dimColor={palette.dim}>↑↓ history  Tab complete  Esc hide candidates  help  Ctrl-C or exit to quit</Text>
		</Box>
	);
}
