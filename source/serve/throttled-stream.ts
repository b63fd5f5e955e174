/** The stream side of --upload-limit: a pass-through that sends each slice only when the shared UploadLimiter allows (and one that counts what passes). */
import {Transform, type TransformCallback} from 'node:stream';
import {setTimeout as sleep} from 'node:timers/promises';
import type {UploadLimiter} from '../core/upload-limiter.js';

export type Clock = {now: () => number; sleep: (ms: number) => Promise<unknown>};

export const realClock: Clock = {now: () => performance.now(), sleep: async ms => sleep(ms)};

export function throttledStream(limiter: UploadLimiter, clock: Clock = realClock): Transform {
	let destroyed = false;
	return new Transform({
		transform(chunk: Buffer, _encoding, callback: TransformCallback) {
			const send = async () => {
				for (let offset = 0; offset < chunk.length && !destroyed; offset += limiter.sliceBytes) {
					const slice = chunk.subarray(offset, offset + limiter.sliceBytes);
					const waitMs = limiter.reserve(slice.length, clock.now());
					if (waitMs > 0) {
						await clock.sleep(waitMs);
					}

					if (!destroyed) {
						this.push(slice);
					}
				}
			};

			send().then(() => {
				callback();
			}, (error: unknown) => {
				callback(error as Error);
			});
		},
		destroy(error, callback) {
			destroyed = true;
			callback(error);
		},
	});
}

/** A pass-through that reports the bytes that go through it. */
export function countingStream(onBytes: (bytes: number) => void): Transform {
	return new Transform({
		transform(chunk: Buffer, _encoding, callback: TransformCallback) {
			onBytes(chunk.length);
			callback(null, chunk);
		},
	});
}
