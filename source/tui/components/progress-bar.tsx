/** A bar of `width` cells filled to `ratio`. */
import {Text} from 'ink';
import {usePalette} from '../hooks/use-palette.js';

type Props = {
	readonly ratio: number;
	readonly width: number;
};

export function ProgressBar({ratio, width}: Props) {
	const palette = usePalette();
	const filled = Math.round(Math.min(1, Math.max(0, ratio)) * width);
	return (
		<Text>
			<Text color={palette.good}>{'█'.repeat(filled)}</Text>
			<Text dimColor={palette.dim}>{'░'.repeat(width - filled)}</Text>
		</Text>
	);
}
