/**
 * Soak: many concurrent downloads among six peers, some of which corrupt or stall
 * their uploads. XFS_SOAK_DOWNLOADS sets the count (npm run soak: 100).
 */
import {createHash, randomBytes} from 'node:crypto';
import {readdir, readlink, readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {runCommand} from '../../source/commands/commands.js';
import {parseLatencyCsv} from '../../source/core/latency-table.js';
import type {PeerConfig} from '../../source/peer/peer-config.js';
import {PeerNode} from '../../source/peer/peer-node.js';
import {startTracker} from '../../tracker/server.js';
import {tempDir} from '../helpers/peer-app.js';
import {eventually} from '../helpers/processes.js';

const downloads = Number(process.env.XFS_SOAK_DOWNLOADS ?? 30);
const peerIds = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6'];
/** P5 corrupts half its uploads and P6 stalls every upload after 4 KiB; every file also has a clean holder. */
const faultsOf = (id: string) => (id === 'P5' ? {corrupt: 0.5} : (id === 'P6' ? {corrupt: 0, stallAfter: 4096} : {corrupt: 0}));

/** Open fds, not counting the inotify instance libuv keeps for the whole process once a share dir was watched. */
async function openFds(): Promise<number> {
	const fds = await readdir('/proc/self/fd');
	const targets = await Promise.all(fds.map(async fd => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
	return targets.filter(target => target !== 'anon_inode:inotify').length;
}

function config(id: string, dir: string, tracker: string): PeerConfig {
	return {
		id, dir, port: 0, host: '127.0.0.1', tracker,
		latencyFile: 'soak', latency: parseLatencyCsv(`from,to,ms\n${peerIds.flatMap((from, index) => peerIds.slice(index + 1).map(to => `${from},${to},${100 + ((((index * 7) + to.charCodeAt(1)) % 9) * 100)}`)).join('\n')}\n`),
		latencyScale: 0.01, k: 1000, heartbeatMs: 500, policy: 'cost', maxSources: 1, swarm: true, settleMs: 1000, rescanMs: 60_000, watch: true, maxUploads: 32, uploadIdleMs: 20_000, json: true, serve: false,
		trackerWaitMs: 5000, peerWaitMs: 15_000, faults: faultsOf(id), logLevel: 'silent',
	};
}

test(`soak: ${downloads} concurrent downloads among 6 peers with corrupt and stalled senders`, async t => {
	t.timeout(240_000);
	const fdsBefore = await openFds();
	const tracker = await startTracker({port: 0, warmupMs: 0, ttlMs: 10_000});
	const nodes = new Map<string, PeerNode>();
	// Stopped however the test ends, so a failure cannot leave servers running.
	t.teardown(async () => {
		await Promise.all([...nodes.values()].map(async node => node.stop()));
		await tracker.close();
	});
	const dirs = new Map<string, string>();
	for (const id of peerIds) {
		dirs.set(id, await tempDir(t, `xfs-soak-${id}-`));
	}

	// Files f00..: each held by a clean peer (P1-P4) and by one or two others, possibly faulty.
	// About 3.5 of the 6 peers lack each file: enough (peer, file) pairs for every download.
	const fileCount = Math.max(6, Math.ceil(downloads / 3));
	const md5s = new Map<string, string>();
	const holders = new Map<string, Set<string>>();
	for (let index = 0; index < fileCount; index++) {
		const name = `f${String(index).padStart(2, '0')}.bin`;
		const bytes = randomBytes(20_000 + ((index * 37_813) % 300_000));
		md5s.set(name, createHash('md5').update(bytes).digest('hex'));
		const owners = new Set([peerIds[index % 4]!, peerIds[4 + (index % 2)]!, peerIds[(index + 1) % 4]!].slice(0, 2 + (index % 2)));
		holders.set(name, owners);
		for (const owner of owners) {
			await writeFile(path.join(dirs.get(owner)!, name), bytes);
		}
	}

	for (const id of peerIds) {
		const node = new PeerNode(config(id, dirs.get(id)!, tracker.url));
		await node.start();
		nodes.set(id, node);
	}

	// Each download is a (peer, file) pair the peer does not hold, spread over every peer.
	const jobs = [...holders.entries()]
		.flatMap(([name, owners], fileIndex) => peerIds.filter(id => !owners.has(id)).map((id, slot) => ({id, name, order: (slot * fileCount) + fileIndex})))
		.sort((a, b) => a.order - b.order)
		.slice(0, downloads)
		.map(({id, name}) => ({id, name}));
	t.is(jobs.length, downloads);
	const results = await Promise.all(jobs.map(async ({id, name}) => runCommand(nodes.get(id)!, {cmd: 'download', name})));
	const failed = results.filter(result => !result.ok);
	t.deepEqual(failed, []);
	const mismatches = results.flatMap(result => ('attempts' in result && result.attempts ? result.attempts : [])).filter(attempt => attempt.outcome !== 'ok');
	t.log(`${results.length} downloads, ${mismatches.length} failed attempts on the way (${[...new Set(mismatches.map(attempt => attempt.outcome))].join(', ')})`);

	for (const {id, name} of jobs) {
		const bytes = await readFile(path.join(dirs.get(id)!, name));
		t.is(createHash('md5').update(bytes).digest('hex'), md5s.get(name)!, `${id}/${name}`);
	}

	for (const [id, dir] of dirs) {
		t.deepEqual(await readdir(path.join(dir, '.xfs', 'partial')), [], `${id} has no partial file left`);
		t.true((await readdir(dir)).every(name => name === '.xfs' || md5s.has(name)), `${id} has no stray file`);
	}

	for (const [id, node] of nodes) {
		t.is(node.load.load, 0, `${id} load back to 0`);
	}

	await Promise.all([...nodes.values()].map(async node => node.stop()));
	nodes.clear();
	await tracker.close();
	// Closed sockets leave the fd table a moment later; a leak never does.
	const fdsAfter = await eventually(async () => {
		const count = await openFds();
		return count <= fdsBefore ? count : undefined;
	}, {timeoutMs: 10_000}).catch(async () => openFds());
	t.log(`open file descriptors: ${fdsBefore} before, ${fdsAfter} after`);
	t.true(fdsAfter <= fdsBefore, 'no leaked file descriptors');
});
