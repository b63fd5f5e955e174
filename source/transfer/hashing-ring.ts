/** What the hashing sink and its thread share: the slots of the control array, and the messages between them. */

/** Slots of the shared control array (BigInt64Array): bytes put in the ring, bytes hashed and written, end, abort. */
export const produced = 0;
export const consumed = 1;
export const ended = 2;
export const aborted = 3;
export const controlSlots = 4;

/** One download for the thread: the temp file's fd, the ring and the control array. */
export type HashingJob = {fd: number; ring: SharedArrayBuffer; control: SharedArrayBuffer};

/** The thread's answer: that it is ready (once, when it has loaded), then per job the md5, that the download was aborted, or the error that stopped it. */
export type HashingReply = {ready?: true; md5?: string; aborted?: boolean; error?: {message: string; code?: string}};
