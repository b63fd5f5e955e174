/** One row per holder of a file: machID, URL, latency, live load, cost and how the download treated it; best first; then the partial holders (swarm), marked with their parts. */
import {Box, Text} from 'ink';
import {usePalette, type Palette} from '../hooks/use-palette.js';
import {fitEnd} from '../ui-text.js';
import type {CandidatePanel as Panel, PanelRow} from '../ui-state.js';

type Props = {
	readonly panel: Panel;
	readonly width: number;
};

/** Columns other than the machID and the URL: marker, latency, load, cost, label ("checksum" is the longest), and the gaps. */
const fixedWidth = 1 + 1 + 1 + 1 + 8 + 1 + 5 + 1 + 7 + 2 + 8;

export function CandidatePanel({panel, width}: Props) {
	const palette = usePalette();
	const idWidth = Math.min(12, Math.max(6, ...panel.rows.map(row => row.id.length)));
	const urlWidth = Math.max(8, Math.min(Math.max(3, ...panel.rows.map(row => row.url.length)), width - fixedWidth - idWidth));
	const line = (mark: string, id: string, url: string, latency: string, load: string, cost: string) =>
		`${mark} ${fitEnd(id, idWidth)} ${fitEnd(url, urlWidth)} ${latency.padStart(8)} ${load.padStart(5)} ${cost.padStart(7)}`;
	return (
		<Box flexDirection="column">
			<Text>
				<Text bold>{`candidates for ${panel.name}`}</Text>
				<Text dimColor={palette.dim}>{panel.origin === 'find' ? ' (find; load live)' : ' (download; load live)'}</Text>
			</Text>
			<Text dimColor={palette.dim}>{line(' ', 'machID', 'URL', 'latency', 'load', 'cost')}</Text>
			{panel.rows.map(row => {
				const {symbol, label, color} = markOf(row, palette);
				return (
					<Text key={row.id} color={color} wrap="truncate">
						{line(
							symbol,
							row.id,
							row.url || '-',
							row.latencyMs === undefined ? '-' : `${row.latencyMs} ms`,
							row.load === undefined ? '-' : String(row.load),
							row.cost === undefined ? '-' : String(row.cost),
						)}
						{label ? `  ${label}` : ''}
						{row.partial ? `  partial ${row.partial.have}/${row.partial.of}` : ''}
					</Text>
				);
			})}
		</Box>
	);
}

function markOf(row: PanelRow, palette: Palette): {symbol: string; label: string; color?: string} {
	switch (row.mark) {
		case 'chosen': {
			return {symbol: '▶', label: 'chosen', color: palette.good};
		}

		case 'checksum': {
			return {symbol: '✗', label: 'checksum', color: palette.bad};
		}

		case 'down': {
			return {symbol: '✗', label: 'down', color: palette.bad};
		}

		case 'candidate': {
			if (row.partial) {
				return {symbol: '◐', label: ''};
			}

			return row.answering ? {symbol: ' ', label: ''} : {symbol: '✗', label: 'down', color: palette.bad};
		}
	}
}
