/**
 * A peer's file server alone, with a chosen read buffer size, for the buffer-size part of
 * the transfer bench (the CLI has no flag for it). Prints its URL, serves until SIGTERM.
 *
 *   tsx bench/serve-share.ts <share dir> <highWaterMark bytes>
 */
import {noFaults} from '../source/serve/faults.js';
import {LatencyTable} from '../source/core/latency-table.js';
import {closeServer} from '../source/common/listen.js';
import {LoadCounter} from '../source/core/load-counter.js';
import {startPeerServer} from '../source/serve/peer-app.js';

const [shareDir, highWaterMark] = process.argv.slice(2);
if (!shareDir || !Number.isSafeInteger(Number(highWaterMark))) {
	process.stderr.write('usage: serve-share.ts <share dir> <highWaterMark bytes>\n');
	process.exit(2);
}

const server = await startPeerServer({
	id: 'bench-up',
	shareDir,
	latency: new LatencyTable(new Map()),
	latencyScale: 0,
	load: new LoadCounter(),
	faults: noFaults,
	highWaterMark: Number(highWaterMark),
}, 0, '127.0.0.1');
const address = server.address();
process.stdout.write(`serving on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}\n`);
process.once('SIGTERM', () => {
	void closeServer(server).then(() => process.exit(0));
});
