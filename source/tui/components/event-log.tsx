/** The scrolling log of results, errors (with their codes) and notices; each entry is printed once, above the live area. */
import {Static, Text} from 'ink';
import {usePalette, type Palette} from '../hooks/use-palette.js';
import type {LogEntry} from '../ui-state.js';

type Props = {
	readonly entries: readonly LogEntry[];
};

export function EventLog({entries}: Props) {
	const palette = usePalette();
	return (
		<Static items={[...entries]}>
			{entry => (
				<Text key={entry.id} {...styleOf(entry.kind, palette)}>{entry.text}</Text>
			)}
		</Static>
	);
}

function styleOf(kind: LogEntry['kind'], palette: Palette): {color?: string; bold?: boolean} {
	switch (kind) {
		case 'banner': {
			return {color: palette.accent};
		}

		case 'command': {
			return {bold: true};
		}

		case 'result': {
			return {};
		}

		case 'error': {
			return {color: palette.bad};
		}

		case 'notice': {
			return {color: palette.warning};
		}
	}
}
