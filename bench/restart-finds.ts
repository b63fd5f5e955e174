/**
 * Finds of held files while the tracker is killed (-9) and restarted on the same port, again
 * and again: how many answer NOT_FOUND although a live peer holds the name. Two trackers in
 * the same run: with the warm-up (the default --warmup-ms 5000) and, as the reference, without
 * it (--warmup-ms 0, what a fresh tracker did before: answer 404 until the lists are back).
 *
 *   npm run bench:restart-finds [-- --restarts 10 --finds 450 --down-ms 300 --up-ms 2500]
 */
import {mkdir, writeFile} from 'node:fs/promises';
import {createServer} from 'node:net';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {
	assertBuilt, benchFlags, benchTempDir, describeMachine, formatTable, saveCsv, startPeerProcess, startTrackerProcess, stopAll, type PeerProc, type Proc,
} from './lib.js';

const flags = benchFlags({restarts: '10', finds: '450', 'down-ms': '300', 'up-ms': '2500', 'heartbeat-ms': '5000'});
const restarts = Number(flags.restarts);
const findsWanted = Number(flags.finds);
const downMs = Number(flags['down-ms']);
const upMs = Number(flags['up-ms']);

async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const {port} = server.address() as {port: number};
			server.close(() => {
				resolve(port);
			});
		});
	});
}

type Outcome = {ok: number; notFound: number; other: Map<string, number>; restartsDone: number};

async function run(warmupMs: number): Promise<Outcome> {
	const port = await freePort();
	const trackerArgs = ['--port', String(port), '--warmup-ms', String(warmupMs)];
	let tracker: Proc = await startTrackerProcess(trackerArgs);
	const trackerUrl = `http://127.0.0.1:${port}`;
	const ids = ['A', 'B', 'C'];
	const peers: PeerProc[] = [];
	const temporary = await benchTempDir('xfs-restart-finds-');
	try {
		for (const id of ids) {
			const dir = path.join(temporary.dir, id);
			await mkdir(dir, {recursive: true});
			await writeFile(path.join(dir, `${id.toLowerCase()}.txt`), `held by ${id}\n`);
			peers.push(await startPeerProcess({id, dir, tracker: trackerUrl, args: ['--latency-scale', '0', '--heartbeat-ms', flags['heartbeat-ms']]}));
		}

		const outcome: Outcome = {ok: 0, notFound: 0, other: new Map(), restartsDone: 0};
		let sent = 0;
		let restartsFinished = false;
		// Paced so that about --finds finds are asked while the restarts go on.
		const pauseMs = Math.max(1, Math.round((restarts * (downMs + upMs) * ids.length) / findsWanted));
		const finder = async (peer: PeerProc, index: number) => {
			const names = ids.filter((_, other) => other !== index).map(id => `${id.toLowerCase()}.txt`);
			while (!restartsFinished) {
				sent++;
				const result = await peer.run(`find ${names[sent % names.length]!}`, 120_000);
				if (result.ok === true) {
					outcome.ok++;
				} else if (result.error?.code === 'NOT_FOUND') {
					outcome.notFound++;
				} else {
					const code = String(result.error?.code);
					outcome.other.set(code, (outcome.other.get(code) ?? 0) + 1);
				}

				await sleep(pauseMs);
			}
		};

		const restarter = async () => {
			for (let round = 0; round < restarts; round++) {
				await sleep(upMs);
				tracker.child.kill('SIGKILL');
				await tracker.stop();
				await sleep(downMs);
				tracker = await startTrackerProcess(trackerArgs);
				outcome.restartsDone++;
			}
		};

		await Promise.all([restarter().finally(() => {
			restartsFinished = true;
		}), ...peers.map(async (peer, index) => finder(peer, index))]);
		return outcome;
	} finally {
		await stopAll();
		await temporary.remove();
	}
}

assertBuilt();
const machine = describeMachine();
const rows: Array<Array<string | number>> = [];
for (const warmupMs of [0, 5000]) {
	const outcome = await run(warmupMs);
	const other = [...outcome.other].map(([code, count]) => `${code} ×${count}`).join(' ') || '-';
	rows.push([warmupMs === 0 ? 'no warm-up (reference)' : `warm-up ${warmupMs} ms`, outcome.restartsDone, outcome.ok + outcome.notFound + [...outcome.other.values()].reduce((a, b) => a + b, 0), outcome.ok, outcome.notFound, other]);
}

const header = ['tracker', 'kill -9 restarts', 'finds', 'ok', 'NOT_FOUND for a held file', 'other errors'];
process.stdout.write(`${machine}\n${formatTable(header, rows)}\n`);
process.stdout.write(`saved ${await saveCsv('restart-finds.csv', header, rows, machine)}\n`);
