/**
 * A peer's upload bandwidth (--upload-limit): one token bucket shared by every
 * upload in progress, so n concurrent uploads each get about 1/n of the rate.
 * Pure accounting: time is passed in, the stream wiring lives in throttled-stream.ts.
 */

/**
 * Slices last about this long at the full rate: short enough that concurrent uploads interleave finely;
 * at most 64 KiB (16 ms at 4 MiB/s), as each slice is a timer and a socket write here and a chunk
 * through the receiver's HTTP client there.
 */
const sliceSeconds = 0.02;
const minSliceBytes = 256;
const maxSliceBytes = 64 * 1024;

export class UploadLimiter {
	readonly bytesPerSecond: number;
	/** The most an idle bucket holds: what may go out at once after a pause. */
	readonly burstBytes: number;
	/** The largest piece a sender should reserve at once. */
	readonly sliceBytes: number;
	#tokens: number;
	#updatedAt: number;

	constructor(bytesPerSecond: number, {now = 0, burstBytes}: {now?: number; burstBytes?: number} = {}) {
		if (!(bytesPerSecond > 0) || !Number.isFinite(bytesPerSecond)) {
			throw new RangeError(`upload limit must be a positive number of bytes/s, got ${bytesPerSecond}`);
		}

		this.bytesPerSecond = bytesPerSecond;
		this.sliceBytes = Math.round(Math.min(maxSliceBytes, Math.max(minSliceBytes, bytesPerSecond * sliceSeconds)));
		this.burstBytes = burstBytes ?? this.sliceBytes;
		this.#tokens = this.burstBytes;
		this.#updatedAt = now;
	}

	/**
	 * Takes `bytes` from the bucket at time `now` (ms) and returns how long (ms) the
	 * sender must wait before sending them. The bucket may go into debt: a sender
	 * that reserves after it waits out the earlier reservations too, which is what
	 * makes the limit a total over all uploads.
	 */
	reserve(bytes: number, now: number): number {
		this.#refill(now);
		this.#tokens -= bytes;
		return this.#tokens >= 0 ? 0 : (-this.#tokens / this.bytesPerSecond) * 1000;
	}

	/** Tokens at `now`; negative while reservations are queued. */
	available(now: number): number {
		this.#refill(now);
		return this.#tokens;
	}

	#refill(now: number): void {
		const elapsed = Math.max(0, now - this.#updatedAt);
		this.#updatedAt = Math.max(now, this.#updatedAt);
		this.#tokens = Math.min(this.burstBytes, this.#tokens + ((elapsed / 1000) * this.bytesPerSecond));
	}
}
