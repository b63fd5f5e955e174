/** Downloads and reads through the mount in flight: progress bar, bytes, speed, ETA and source; finished ones leave for the event log. */
import {Box, Text} from 'ink';
import {formatBytes} from '../../commands/format.js';
import {usePalette} from '../hooks/use-palette.js';
import {fitEnd, formatDuration, formatRate} from '../ui-text.js';
import type {SourceSnapshot} from '../../core/part-scheduler.js';
import {transferFigures, type TransferRow} from '../ui-state.js';
import {ProgressBar} from './progress-bar.js';

type Props = {
	readonly transfers: readonly TransferRow[];
	readonly now: number;
	readonly width: number;
};

const nameWidth = 12;
/** Everything on a receiving row but the bar: name, percent, bytes, speed, ETA, source, and the gaps. */
const figuresWidth = nameWidth + 1 + 1 + 4 + 1 + 17 + 1 + 10 + 1 + 9 + 1 + 13;
/** A read through the mount says so before its source: `mount from A`. */
const mountMark = 'mount ';

export function TransferList({transfers, now, width}: Props) {
	const palette = usePalette();
	const barWidth = Math.max(5, Math.min(30, width - figuresWidth - 1));
	return (
		<Box flexDirection="column">
			<Text bold>transfers</Text>
			{transfers.map(transfer => (
				<Box key={transfer.key} flexDirection="column">
					<Text wrap="truncate">
						{`${fitEnd(transfer.name, nameWidth)} `}
						{transfer.phase === 'locating' && <Text dimColor={palette.dim}>finding holders and their load…</Text>}
						{transfer.phase === 'waiting' && (
							<Text color={palette.warning}>{`every holder failed, retry in ${(Math.max(0, (transfer.retryAt ?? now) - now) / 1000).toFixed(1)} s`}</Text>
						)}
						{transfer.phase === 'receiving' && <ReceivingFigures transfer={transfer} barWidth={transfer.viaMount ? Math.max(5, barWidth - mountMark.length) : barWidth}/>}
					</Text>
					{transfer.phase === 'receiving' && transfer.sources?.map(source => <SourceRow key={source.id} source={source}/>)}
				</Box>
			))}
		</Box>
	);
}

function ReceivingFigures({transfer, barWidth}: {readonly transfer: TransferRow; readonly barWidth: number}) {
	const {ratio, etaMs} = transferFigures(transfer);
	const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
	const bytes = `${formatBytes(transfer.received)}/${formatBytes(transfer.size ?? 0)}`.padEnd(17);
	const speed = (transfer.bytesPerSecond === undefined ? '-' : formatRate(transfer.bytesPerSecond)).padStart(10);
	const eta = `ETA ${etaMs === undefined ? '-' : formatDuration(etaMs)}`.padEnd(9);
	return (
		<Text>
			<ProgressBar ratio={ratio} width={barWidth}/>
			{` ${percent} ${bytes} ${speed} ${eta} ${transfer.viaMount ? mountMark : ''}from ${transfer.from ?? '-'}`}
		</Text>
	);
}

/** One holder of a multi-source download: what it is doing, the parts it delivered and the bytes it sent. */
function SourceRow({source}: {readonly source: SourceSnapshot}) {
	const palette = usePalette();
	const color = source.state === 'failed' || source.state === 'corrupt' ? palette.bad : undefined;
	const parts = `${source.parts} part${source.parts === 1 ? '' : 's'}`.padStart(9);
	return (
		<Text wrap="truncate">
			{`  ${fitEnd(source.id, nameWidth - 2)} `}
			<Text color={color}>{source.state.padEnd(8)}</Text>
			{` ${parts} ${formatBytes(source.received).padStart(9)}`}
		</Text>
	);
}
