/** What the mount reports (pure types): a remote file being read through it, from which holders, how far, and how it ended. */

/**
 * One remote file being fetched for readers of the mount (several readers of one file share it):
 * `read` tells files apart, `from` names the holders in use.
 */
export type MountEvent =
	| {type: 'read-start'; read: number; name: string; size: number; from: string}
	| {type: 'read-progress'; read: number; name: string; from: string; received: number; size: number}
	/** placed: read whole, checked and now shared; closed: its readers are done before the end; failed: no holder could serve it. */
	| {type: 'read-end'; read: number; name: string; outcome: 'placed' | 'closed' | 'failed'; message: string};
