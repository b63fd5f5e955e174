/** Fault injection for tests and benchmarks: `--fault corrupt=<0..1>`, `stall-after=<bytes>`, `watch-error=<errno>`. Off by default. */
import {Transform, type TransformCallback} from 'node:stream';
import {UsageError} from '../common/errors.js';

/** `watchError`: the share dir's watch fails as that errno would (ENOSPC, EMFILE, …), to exercise the fallback to rescans. */
export type Faults = {corrupt: number; stallAfter?: number; watchError?: string};
export const noFaults: Faults = {corrupt: 0};

export function parseFaults(specs: readonly string[]): Faults {
	const faults: Faults = {corrupt: 0};
	for (const spec of specs) {
		const [key, value = ''] = spec.split('=', 2);
		const number = value.trim() === '' ? Number.NaN : Number(value);
		switch (key) {
			case 'corrupt': {
				if (!(number >= 0 && number <= 1)) {
					throw new UsageError(`xfs-peer: --fault corrupt=<p>: p must be in [0, 1], got "${value}"`);
				}

				faults.corrupt = number;

				break;
			}

			case 'stall-after': {
				if (!Number.isSafeInteger(number) || number < 0) {
					throw new UsageError(`xfs-peer: --fault stall-after=<bytes>: expected a whole number, got "${value}"`);
				}

				faults.stallAfter = number;

				break;
			}

			case 'watch-error': {
				if (!/^E[A-Z]+$/.test(value)) {
					throw new UsageError(`xfs-peer: --fault watch-error=<errno>: expected a code such as ENOSPC, got "${value}"`);
				}

				faults.watchError = value;

				break;
			}

			default: {
				throw new UsageError(`xfs-peer: --fault: unknown fault "${spec}"; use corrupt=<0..1>, stall-after=<bytes> or watch-error=<errno>`);
			}
		}
	}

	return faults;
}

/** A pass-through that flips one byte (when `corrupt`) and/or stops sending after `stallAfter` bytes. */
export function faultyStream({corrupt, stallAfter}: {corrupt: boolean; stallAfter?: number}): Transform {
	let sent = 0;
	let flipped = !corrupt;
	return new Transform({
		transform(chunk: Buffer, _encoding, callback: TransformCallback) {
			let out = chunk;
			if (!flipped && out.length > 0) {
				out = Buffer.from(out);
				const at = Math.floor(out.length / 2);
				out[at] = out[at]! ^ 0xFF;
				flipped = true;
			}

			if (stallAfter !== undefined && sent + out.length >= stallAfter) {
				this.push(out.subarray(0, stallAfter - sent));
				sent = stallAfter;
				// Never call back: the socket stays open and silent until the receiver gives up.
				return;
			}

			sent += out.length;
			callback(null, out);
		},
	});
}
