/** Fitting text into terminal columns, and short human forms of durations and rates (pure). */
import {formatBytes} from '../commands/format.js';

/** Cuts the end of `text` to `width` columns (an ellipsis marks the cut) and pads it to exactly `width`. */
export function fitEnd(text: string, width: number): string {
	if (width <= 0) {
		return '';
	}

	return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

/** Keeps the end of `text` (the informative part of a path) within `width` columns. */
export function fitStart(text: string, width: number): string {
	if (width <= 0) {
		return '';
	}

	return text.length > width ? `…${text.slice(text.length - width + 1)}` : text;
}

/** 850 ms → "<1s", 42 s → "42s", 185 s → "3m05s", 2 h 3 min → "2h03m". */
export function formatDuration(ms: number): string {
	const seconds = Math.round(ms / 1000);
	if (ms < 1000) {
		return '<1s';
	}

	if (seconds < 60) {
		return `${seconds}s`;
	}

	if (seconds < 3600) {
		return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
	}

	return `${Math.floor(seconds / 3600)}h${String(Math.floor(seconds / 60) % 60).padStart(2, '0')}m`;
}

export function formatRate(bytesPerSecond: number): string {
	return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}
