/** The wording of the peer's notices and retry lines (pure): what a user reads in the log, the TUI and on stderr. */
import type {RejoinReason} from '../core/tracker-link.js';
import type {ChangeCounts} from '../core/share-index.js';

/** Milliseconds as seconds for a notice: 250 → "0.25", 5000 → "5". */
export function seconds(ms: number): string {
	return String(Number((ms / 1000).toFixed(2)));
}

const rejoinWords: Record<RejoinReason, string> = {
	restarted: 'tracker restarted (new epoch)',
	dropped: 'tracker had dropped this peer',
	back: 'tracker reachable again',
};

function countsText({added, changed, removed}: ChangeCounts): string {
	return `${added} new, ${changed} changed, ${removed} removed`;
}

export const notices = {
	published: (sent: ChangeCounts, lost: ChangeCounts | undefined, requests: number, whole: boolean) => (whole
		? `published ${countsText({added: sent.added + lost!.added, changed: sent.changed + lost!.changed, removed: sent.removed + lost!.removed})}: the tracker held another version of the list, so the whole list went`
		: `published ${countsText(sent)} (${requests} update${requests === 1 ? '' : 's'})`),
	scanned: (stats: {files: number; hashed: number; cached: number}, scanMs: number) =>
		`shared ${stats.files} file(s): ${stats.hashed} hashed, ${stats.cached} from the hash cache, in ${scanMs} ms`,
	cleaned: (count: number) => `removed ${count} unfinished download(s) from an earlier run`,
	rejoined: (reason: RejoinReason, files: number) => `${rejoinWords[reason]}: sent the whole list (${files} files)`,
	loopDown: (retryInMs: number, message: string) => `tracker down, retrying in ${seconds(retryInMs)} s: ${message}`,
	callDown: (delayMs: number, what: string, waitMs: number) => `tracker down, retrying in ${seconds(delayMs)} s (${what} waits up to ${seconds(waitMs)} s)`,
	gaveUp: (tracker: string, elapsedMs: number, waitMs: number) => (waitMs > 0
		? `tracker ${tracker} still down after ${seconds(elapsedMs)} s (--tracker-wait ${waitMs} ms)`
		: `tracker ${tracker} is down`),
	unreachable: (url: string) => `the tracker cannot reach this peer at ${url}: other peers cannot download from it and it is not offered in Find (check --advertise and --host)`,
	reachableAgain: (url: string) => `the tracker reaches this peer at ${url} again: it is offered in Find`,
	advertisedMismatch: (url: string, reason: string) => `the advertised URL ${url} does not answer as this peer (${reason}): other peers will not reach it there (check --advertise)`,
	refused: (message: string) => `tracker refused this peer: ${message}`,
	superseded: (id: string, message: string) => `machID ${id} was taken over by another peer (${message}): this peer is no longer listed; it asks for ${id} back at each heartbeat and gets it once that peer is gone`,
	reclaimed: (id: string) => `machID ${id} is this peer's again: listed at the tracker`,
	secretMismatch: (tracker: string, trackerHasSecret: boolean) => (trackerHasSecret
		? `the tracker ${tracker} needs a --secret and this peer has none: a mismatch (the tracker refuses this peer's writes)`
		: `this peer has a --secret but the tracker ${tracker} takes none: a mismatch (the tracker does not check it)`),
	staleHolders: (name: string, ids: readonly string[]) => `tracker down: using the last known holders of ${name} (${ids.join(', ')})`,
	notYetListed: (name: string, backForMs: number, delayMs: number) =>
		`tracker came back ${seconds(backForMs)} s ago and lists no holder of ${name} yet; asking again in ${seconds(delayMs)} s`,
	answeredByDht: (name: string, holders: number) => `tracker down: the DHT found ${holders} holder${holders === 1 ? '' : 's'} of ${name}`,
	dhtJoined: (address: string, nodes: number, bootstrap: readonly string[]) => `DHT node on ${address}: ${nodes} node${nodes === 1 ? '' : 's'} known${bootstrap.length > 0 ? ` (joined through ${bootstrap.join(', ')})` : ' (first node of its network)'}`,
	downloadWaiting: (name: string, reason: string, retryInMs: number, peerWaitMs: number) =>
		`download ${name}: ${reason}, retrying in ${seconds(retryInMs)} s (waits up to ${seconds(peerWaitMs)} s)`,
};
