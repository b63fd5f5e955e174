/** The HTTP Range header, single ranges only (pure). */
export type ByteRange = {start: number; end: number};

/**
 * Returns the inclusive range to send, 'unsatisfiable' for a 416, or undefined to send
 * the whole file (no header, a syntax we do not serve, or several ranges, as RFC 9110 allows).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
	if (header === undefined) {
		return undefined;
	}

	const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
	if (!match) {
		return undefined;
	}

	const [, first = '', last = ''] = match;
	if (first === '' && last === '') {
		return undefined;
	}

	if (first === '') {
		const suffix = Number(last);
		if (suffix === 0) {
			return 'unsatisfiable';
		}

		return size === 0 ? 'unsatisfiable' : {start: Math.max(0, size - suffix), end: size - 1};
	}

	const start = Number(first);
	const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
	if (!Number.isSafeInteger(start) || start >= size || (last !== '' && Number(last) < start)) {
		return 'unsatisfiable';
	}

	return {start, end};
}
