import {createHash} from 'node:crypto';
import {readdir, readFile, readlink, rm, writeFile} from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import {deterministicBytes} from '../../fixtures/generate.js';
import {loadsSettleAtZero} from '../helpers/faults.js';
import {eventually, getJson, shareDir, startPeer, startTracker, type PeerProcess, type TrackerProcess} from '../helpers/processes.js';
import {mountTmpfs} from '../helpers/tmpfs.js';

const MiB = 1024 * 1024;
/** Rounds of the whole mix; `npm run soak:faults` runs more. */
const rounds = Number(process.env.XFS_SOAK_ROUNDS ?? 1);
const names = Array.from({length: 6}, (_, index) => `f${index}.bin`);
const md5Of = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

/** Readers that ask a holder for a file, take a little of it and then read no more. */
function stallReaders(url: string, name: string, count: number): net.Socket[] {
	const {hostname, port} = new URL(url);
	return Array.from({length: count}, () => {
		const socket = net.connect(Number(port), hostname);
		socket.write(`GET /files/${name} HTTP/1.1\r\nHost: ${hostname}\r\nX-Xfs-Peer: stalled\r\n\r\n`);
		socket.once('data', () => {
			socket.pause();
		});
		socket.on('error', () => {});
		return socket;
	});
}

async function fdCount(pid: number): Promise<number> {
	const fds = await readdir(`/proc/${pid}/fd`);
	const targets = await Promise.all(fds.map(async fd => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
	return targets.filter(target => target !== 'anon_inode:inotify').length;
}

test(`soak with faults: stalled readers, a disk that fills, a holder's file edited, tracker restarts (${rounds} round${rounds === 1 ? '' : 's'})`, async t => {
	const disk = await mountTmpfs(t, 16);
	if (!disk) {
		t.pass();
		return;
	}

	/** Every version each name has had, by md5: a finished download must be one of them, byte for byte. */
	const versions = new Map<string, Set<string>>(names.map(name => [name, new Set()]));
	const contents = names.map((name, index) => {
		const bytes = deterministicBytes(2 * MiB, 100 + index);
		versions.get(name)!.add(md5Of(bytes));
		return bytes;
	});
	let tracker: TrackerProcess = await startTracker(t, ['--warmup-ms', '1000']);
	const holderDirs: string[] = [];
	const holders: PeerProcess[] = [];
	for (const id of ['A', 'B', 'C']) {
		const dir = await shareDir(t);
		await Promise.all(names.map(async (name, index) => writeFile(path.join(dir, name), contents[index]!)));
		holderDirs.push(dir);
		holders.push(await startPeer(t, {id, dir, tracker: tracker.url, serve: true, args: ['--max-uploads', '6', '--upload-idle-ms', '1500', '--upload-limit', String(8 * MiB), '--settle-ms', '300']}));
	}

	const me = await startPeer(t, {id: 'me', dir: disk, tracker: tracker.url, args: ['--peer-wait', '15000', '--tracker-wait', '20000', '--part-size', String(512 * 1024)]});
	const fdsBefore = await Promise.all(holders.map(async holder => fdCount(holder.child.pid!)));
	const outcomes = new Map<string, number>();
	const stalled: net.Socket[] = [];
	t.teardown(() => {
		for (const socket of stalled) {
			socket.destroy();
		}
	});

	for (let round = 0; round < rounds; round++) {
		// Stalled readers take most of A's upload slots; they are ended after --upload-idle-ms.
		stalled.push(...stallReaders(holders[0]!.url, names[0]!, 5));
		// B's copy of one file is edited in place: B publishes the new md5 (A and C still hold the old one).
		const edited = deterministicBytes(2 * MiB, 900 + round);
		versions.get(names[round % names.length]!)!.add(md5Of(edited));
		await writeFile(path.join(holderDirs[1]!, names[round % names.length]!), edited);
		// Something else fills most of the downloader's disk for a while.
		await writeFile(path.join(disk, '.filler'), Buffer.alloc(11 * MiB)).catch(() => {});

		const downloads = names.map(async name => me.run(`download ${name}`, 120_000));
		// The tracker is killed and restarted on its port while the downloads run.
		await tracker.kill('SIGKILL');
		tracker = await startTracker(t, ['--port', String(tracker.port), '--warmup-ms', '1000']);
		const results = await Promise.all(downloads);
		for (const result of results) {
			const outcome = result.ok ? 'ok' : String(result.error.code);
			outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
			// The edited name is claimed by two keys (B's edit against the first publisher's): when the tracker cannot order them it says NAME_CONFLICT, never either content silently.
			const conflictAllowed = result.error?.code === 'NAME_CONFLICT' && result.error.message.startsWith(`"${names[round % names.length]!}"`);
			t.true(result.ok === true || ['NO_SPACE', 'ALREADY_HAVE'].includes(result.error.code) || conflictAllowed, JSON.stringify(result));
		}

		// Room again: what did not fit is fetched now.
		await rm(path.join(disk, '.filler'), {force: true});
		for (const [index, result] of results.entries()) {
			if (!result.ok && result.error.code === 'NAME_CONFLICT') {
				// The way past a conflict: ask for one content by its md5.
				const exact = await me.run(`download ${names[index]!}@${md5Of(edited)}`, 120_000);
				const outcome = exact.ok ? 'ok by md5' : String(exact.error.code);
				outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
			}

			if (!result.ok && result.error.code === 'NO_SPACE') {
				const retried = await me.run(`download ${names[index]!}`, 120_000);
				const outcome = retried.ok ? 'ok after room' : String(retried.error.code);
				outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
			}
		}

		// Next round starts from an empty share dir: each download lands again.
		for (const name of names) {
			const file = path.join(disk, name);
			const bytes = await readFile(file).catch(() => undefined);
			if (bytes) {
				t.true(versions.get(name)!.has(md5Of(bytes)), `${name} is one of the versions it had`);
				await rm(file);
			}
		}
	}

	t.log(`outcomes: ${[...outcomes].map(([outcome, count]) => `${outcome} ${count}`).join(', ')}`);
	t.true((outcomes.get('ok') ?? 0) + (outcomes.get('ok after room') ?? 0) + (outcomes.get('ok by md5') ?? 0) >= names.length * rounds, 'every file arrived: at once, once there was room, or by its md5 past a conflict');
	for (const socket of stalled) {
		socket.destroy();
	}

	t.deepEqual(await loadsSettleAtZero([...holders.map(holder => holder.url), me.url]), [0, 0, 0, 0]);
	const fdsAfter = await eventually(async () => {
		const counts = await Promise.all(holders.map(async holder => fdCount(holder.child.pid!)));
		return counts.every((count, index) => count <= fdsBefore[index]! + 1) ? counts : undefined;
	});
	t.log(`holder fds: ${fdsBefore.join(', ')} before, ${fdsAfter.join(', ')} after`);
	t.deepEqual(await readdir(path.join(disk, '.xfs', 'partial')), []);
	t.is((await getJson(`${tracker.url}/peers`)).body.peers.length, 4);
});
