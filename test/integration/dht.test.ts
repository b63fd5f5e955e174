/** Serverless: peers that find, download and list through the DHT (real processes, no tracker unless said). */
import {createSocket} from 'node:dgram';
import {setTimeout as sleep} from 'node:timers/promises';
import {createServer} from 'node:http';
import type {AddressInfo} from 'node:net';
import {access, readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {createHash, randomBytes} from 'node:crypto';
import test, {type ExecutionContext} from 'ava';
import fc from 'fast-check';
import bencode from 'bencode';
import {nameKey} from '../../source/common/dht-keys.js';
import {placementFor} from '../../source/core/placement.js';
import {eventually, fastPeerArgs, peerEntry, shareDir, startChild, startTracker, type Child} from '../helpers/processes.js';

type DhtPeer = Child & {id: string; url: string; dht: string; run: (line: string, timeoutMs?: number) => Promise<Record<string, any>>};

async function startDhtPeer(t: ExecutionContext, id: string, dir: string, args: string[]): Promise<DhtPeer> {
	const child = startChild(t, peerEntry, ['--id', id, '--dir', dir, '--json', ...fastPeerArgs, ...args]);
	const ready = JSON.parse(await child.stdout.next(line => line.includes('"event":"ready"'))) as {url: string; dht: string};
	return {
		...child,
		id,
		url: ready.url,
		dht: ready.dht,
		async run(line, timeoutMs = 60_000) {
			child.child.stdin.write(`${line}\n`);
			return JSON.parse(await child.stdout.next(candidate => candidate.startsWith('{"cmd"'), timeoutMs)) as Record<string, any>;
		},
	};
}

/** A network of its own: the first node, then the others joining through it. */
async function network(t: ExecutionContext, fixtures: string[], extra: string[] = []): Promise<DhtPeer[]> {
	const first = await startDhtPeer(t, fixtures[0]!, await shareDir(t, fixtures[0]), ['--dht-port', '0', ...extra]);
	const rest = await Promise.all(fixtures.slice(1).map(async id => startDhtPeer(t, id, await shareDir(t, id), ['--bootstrap', first.dht, ...extra])));
	return [first, ...rest];
}

/** Find until the holders are the expected ones (announces go out as each peer starts). */
async function findHolders(peer: DhtPeer, name: string, expected: string[], timeoutMs = 30_000): Promise<Record<string, any>> {
	return eventually(async () => {
		const result = await peer.run(`find ${name}`);
		const ids = result.ok ? (result.peers as Array<{id: string}>).map(holder => holder.id).sort() : [];
		return JSON.stringify(ids) === JSON.stringify([...expected].sort()) ? result : undefined;
	}, {timeoutMs, intervalMs: 200});
}

const md5Of = async (file: string) => createHash('md5').update(await readFile(file)).digest('hex');

test.serial('without a tracker, four peers find and download through the DHT; files and peers are the view from the peers it knows; getload resolves a machID', async t => {
	const [a, b, c] = await network(t, ['A', 'B', 'C']);
	const downloaderDir = await shareDir(t);
	const x = await startDhtPeer(t, 'X', downloaderDir, ['--bootstrap', `${b!.dht},${c!.dht}`]);
	const song = await md5Of(path.join(a!.child.spawnargs.at(a!.child.spawnargs.indexOf('--dir') + 1)!, 'song.mp3'));

	const found = await findHolders(x, 'song.mp3', ['A', 'B']);
	t.is(found.md5, song);
	t.false(found.local);
	const download = await x.run('download song.mp3');
	t.true(download.ok, JSON.stringify(download));
	t.is(await md5Of(path.join(downloaderDir, 'song.mp3')), song);
	// The downloaded copy is announced: X is a holder now, as another peer sees.
	await findHolders(c!, 'song.mp3', ['A', 'B', 'X']);
	t.like(await x.run('updatelist', 10_000), {ok: true, files: 1, to: 'dht'});

	const peers = await eventually(async () => {
		const result = await x.run('peers');
		return result.viewFrom === 4 ? result : undefined;
	}, {intervalMs: 200});
	t.deepEqual((peers.peers as Array<{id: string}>).map(peer => peer.id).sort(), ['A', 'B', 'C', 'X']);
	const files = await x.run('files');
	t.is(files.viewFrom, 4);
	t.deepEqual((files.files as Array<{name: string; holders: number}>).find(file => file.name === 'song.mp3')?.holders, 3);
	t.deepEqual((files.files as Array<{name: string}>).map(file => file.name), ['data.csv', 'notes.md', 'paper.pdf', 'photo.jpg', 'readme.txt', 'song.mp3', 'tiny.txt']);
	const load = await x.run('getload B');
	t.like(load, {ok: true, id: 'B', load: 0});
	t.like(await x.run('getload nobody'), {ok: false, error: {code: 'NOT_FOUND'}});
	t.like(await x.run('find no-such-file'), {ok: false, error: {code: 'NOT_FOUND'}});
});

test.serial('the first bootstrap node dies; a new peer joins through another and is found; a restarted peer rejoins from its saved routing table', async t => {
	const [a, b, c] = await network(t, ['A', 'B', 'C']);
	await findHolders(c!, 'notes.md', ['A']);
	await a!.kill('SIGKILL');
	const eDir = await shareDir(t, 'E');
	const e = await startDhtPeer(t, 'E', eDir, ['--bootstrap', `${a!.dht},${b!.dht}`]);
	t.truthy(e.dht);
	await findHolders(c!, 'video.mp4', ['E']);

	// C again, with no --bootstrap: it joins through the nodes it saved in .xfs/dht.json.
	const cDir = c!.child.spawnargs.at(c!.child.spawnargs.indexOf('--dir') + 1)!;
	const saved = JSON.parse(await readFile(path.join(cDir, '.xfs', 'dht.json'), 'utf8')) as {nodes: unknown[]};
	t.true(saved.nodes.length > 0);
	await c!.kill('SIGTERM');
	const again = await startDhtPeer(t, 'C', cDir, ['--dht-port', '0']);
	await findHolders(again, 'video.mp4', ['E']);
});

test.serial('a dead holder is skipped: find offers the live ones, download takes the file from them', async t => {
	// Announced every second: a record that sat only on the killed node is soon on the others again.
	const [a, b] = await network(t, ['A', 'B'], ['--announce-ms', '1000']);
	const x = await startDhtPeer(t, 'X', await shareDir(t), ['--bootstrap', a!.dht, '--announce-ms', '1000']);
	await findHolders(x, 'readme.txt', ['A', 'B']);
	await b!.kill('SIGKILL');
	// B's announces outlive it in the DHT; B is asked, does not answer, and is not offered.
	const found = await findHolders(x, 'readme.txt', ['A']);
	t.is(found.peers.length, 1);
	const download = await x.run('download readme.txt');
	t.like(download, {ok: true, from: 'A'});
});

test.serial('with a tracker too: the tracker killed, a find is answered by the DHT within seconds', async t => {
	const tracker = await startTracker(t);
	const [a] = await network(t, ['A', 'B'], ['--tracker', tracker.url]);
	const x = await startDhtPeer(t, 'X', await shareDir(t), ['--tracker', tracker.url, '--bootstrap', a!.dht, '--tracker-wait', '60000']);
	// Through the tracker first (the fast path), while the announces go out.
	t.like(await x.run('find song.mp3'), {ok: true, stale: false});
	await findHolders(x, 'readme.txt', ['A', 'B']);
	await tracker.kill('SIGKILL');
	const started = Date.now();
	const found = await x.run('find notes.md', 10_000);
	t.true(Date.now() - started < 5000, `answered in ${Date.now() - started} ms`);
	t.like(found, {ok: true, name: 'notes.md'});
	t.deepEqual((found.peers as Array<{id: string}> | undefined)?.map(peer => peer.id), ['A'], JSON.stringify(found));
	t.true(x.stderr.lines.some(line => line.includes('the DHT found 1 holder of notes.md')));
	t.like(await x.run('download notes.md', 10_000), {ok: true, from: 'A'});
});

test.serial('malformed UDP packets, a flood, and a stranger announcing a name for a liar change nothing: the node keeps serving', async t => {
	const [a, b] = await network(t, ['A', 'B']);
	const x = await startDhtPeer(t, 'X', await shareDir(t), ['--bootstrap', a!.dht]);
	const song = await findHolders(x, 'song.mp3', ['A', 'B']);
	const [host, port] = [a!.dht.split(':')[0]!, Number(a!.dht.split(':')[1])];
	// Several senders, each under its burst: the packets reach the screen, not only the rate limit.
	const sockets = await Promise.all(Array.from({length: 9}, async () => {
		const socket = createSocket('udp4');
		t.teardown(() => {
			socket.close();
		});
		await new Promise<void>(resolve => {
			socket.bind(0, '127.0.0.1', resolve);
		});
		return socket;
	}));
	let sent = 0;
	const send = async (packet: Uint8Array, socket = sockets[sent++ % 8]!) => new Promise<void>(resolve => {
		socket.send(packet, port, host, () => {
			resolve();
		});
	});
	const krpcLike = fc.dictionary(fc.constantFrom('t', 'y', 'q', 'a', 'r', 'e', 'id', 'target', 'info_hash', 'token', 'port', 'nodes', 'values', 'implied_port'), fc.oneof(fc.integer(), fc.uint8Array({maxLength: 40}), fc.constantFrom('q', 'r', 'e', 'ping', 'find_node', 'get_peers', 'announce_peer', 'put', 'get'), fc.dictionary(fc.constantFrom('id', 'target', 'info_hash', 'token', 'port', 'nodes', 'values'), fc.oneof(fc.integer(), fc.uint8Array({maxLength: 40}), fc.array(fc.uint8Array({maxLength: 8}), {maxLength: 3})))), {maxKeys: 6});
	await fc.assert(fc.asyncProperty(fc.oneof(fc.uint8Array({maxLength: 300}), krpcLike.map(value => bencode.encode(value))), async packet => {
		await send(packet);
	}), {numRuns: 3000});

	// A stranger gets a token and announces song.mp3 for a server that lies about it.
	const liar = createServer((request, response) => {
		response.setHeader('content-type', 'application/json');
		response.end(JSON.stringify(request.url === '/files/song.mp3/info' ? {id: 'Z', name: 'song.mp3', md5: 'f'.repeat(32), size: 5} : {error: {code: 'NOT_FOUND', message: 'no'}}));
	});
	await new Promise<void>(resolve => {
		liar.listen(0, '127.0.0.1', resolve);
	});
	t.teardown(() => {
		liar.close();
	});
	const stranger = new Uint8Array(20).fill(9);
	const socket = sockets[8]!;
	const reply = new Promise<Record<string, any>>(resolve => {
		socket.once('message', data => {
			resolve(bencode.decode(data) as Record<string, any>);
		});
	});
	await send(bencode.encode({t: Uint8Array.of(1, 1), y: 'q', q: 'get_peers', a: {id: stranger, info_hash: nameKey('song.mp3')}}), socket);
	// Bounded: a reply that never comes fails here, with where, instead of the whole run timing out.
	const {token} = (await Promise.race([reply, sleep(15_000).then(() => {
		throw new Error('no reply to the stranger\'s get_peers within 15 s');
	})])).r as {token: Uint8Array};
	await send(bencode.encode({t: Uint8Array.of(1, 2), y: 'q', q: 'announce_peer', a: {id: stranger, info_hash: nameKey('song.mp3'), token, port: (liar.address() as AddressInfo).port}}), socket);

	const stillServing = await findHolders(b!, 'notes.md', ['A']);
	t.is(stillServing.peers[0].url, a!.url);
	const after = await x.run('find song.mp3');
	t.is(after.md5, song.md5, 'the liar is outvoted');
	t.deepEqual((after.peers as Array<{id: string}>).map(peer => peer.id).sort(), ['A', 'B']);
	t.is(a!.child.exitCode, null);
	t.like(await x.run('download song.mp3'), {ok: true});
});

test.serial('put with r = 3 and no tracker lands on the XOR-closest 3 the DHT sees; a holder killed, the next closest takes a copy', async t => {
	// Pins checked every 200 ms (the heartbeat), a repair after 300 ms below r.
	const replicaArgs = ['--repair-grace-ms', '300'];
	const ids = ['P1', 'P2', 'P4', 'P5'];
	const dirs = new Map<string, string>();
	const peers = new Map<string, DhtPeer>();
	for (const id of ids) {
		dirs.set(id, await shareDir(t));
		const first = peers.get(ids[0]!);
		peers.set(id, await startDhtPeer(t, id, dirs.get(id)!, [...(first ? ['--bootstrap', first.dht] : ['--dht-port', '0']), ...replicaArgs]));
	}

	const putterDir = await shareDir(t);
	const putter = await startDhtPeer(t, 'P3', putterDir, ['--bootstrap', peers.get('P2')!.dht, ...replicaArgs]);
	const content = randomBytes(200_000);
	const outside = path.join(await shareDir(t), 'notes.txt');
	await writeFile(outside, content);
	// P3, the putter, is the farthest of the five from notes.txt: it keeps its file as an ordinary one.
	const placement = placementFor('notes.txt', [...ids, 'P3'], 3);
	t.deepEqual(placement, ['P4', 'P1', 'P5']);
	// The putter sees every peer through the DHT before it places anything.
	await eventually(async () => ((await putter.run('peers')).viewFrom === 5 ? true : undefined), {intervalMs: 200});

	const put = await putter.run(`put ${outside}`);
	t.like(put, {cmd: 'put', ok: true, name: 'notes.txt', size: content.length, r: 3, replicas: placement}, JSON.stringify(put));
	t.is(put.underReplicated, undefined);
	for (const id of placement) {
		t.deepEqual(await readFile(path.join(dirs.get(id)!, 'notes.txt')), content, id);
	}

	await t.throwsAsync(access(path.join(dirs.get('P2')!, 'notes.txt')));
	t.deepEqual(await readFile(path.join(putterDir, 'notes.txt')), content);
	t.like(await peers.get('P2')!.run('find notes.txt'), {ok: true, pinned: 3, copies: ['P1', 'P4', 'P5']});

	// P4 dies: the live peers the DHT sees are P1, P2, P3, P5, and P2 is now among the 3 closest; it takes a copy.
	await peers.get('P4')!.kill('SIGKILL');
	const repaired = await eventually(async () => {
		const found = await putter.run('find notes.txt');
		return JSON.stringify(found.copies) === JSON.stringify(['P1', 'P2', 'P5']) ? found : undefined;
	}, {timeoutMs: 60_000, intervalMs: 300});
	t.like(repaired, {pinned: 3, md5: createHash('md5').update(content).digest('hex')});
	t.deepEqual(await readFile(path.join(dirs.get('P2')!, 'notes.txt')), content);
});

test.serial('xfs-peer demo --serverless: the fixture network with no tracker finds and downloads', async t => {
	const demo = startChild(t, peerEntry, ['demo', '--serverless', '--latency-scale', '0.01']);
	const banner = await demo.stdout.next(/^xfs-peer demo: /);
	if (banner.includes('stopped')) {
		// It failed to start: its reason is on stderr.
		await demo.exited;
	}

	t.regex(banner, /^xfs-peer demo: no tracker: a DHT started by A at 127\.0\.0\.1:\d+; peers A, B, C, D, E each serve/, demo.stderr.lines.join('\n'));
	await demo.stdout.next(/^try: /);
	const found = await eventually(async () => {
		demo.child.stdin.write('find song.mp3\n');
		const line = await demo.stdout.next(/^find song\.mp3: /);
		return line.startsWith('find song.mp3: 3 holders up') ? line : undefined;
	}, {intervalMs: 200});
	t.regex(found, /md5 d08e392ca9da2b83784f74b956b818de/);
	demo.child.stdin.write('download song.mp3\n');
	t.regex(await demo.stdout.next(/^download song\.mp3: /), /^download song\.mp3: saved .* from [ABD] /);
	demo.child.stdin.write('exit\n');
	t.is(await demo.stdout.next(/^xfs-peer demo: stopped/), 'xfs-peer demo: stopped 5 peers');
});

test.serial('bad DHT flags exit 2 with one line naming them', async t => {
	const dir = await shareDir(t);
	const cases: Array<[string[], string]> = [
		[['--bootstrap', 'nowhere'], 'xfs-peer: --bootstrap: "nowhere" is not host:port, got "nowhere"'],
		[['--dht-port', '70000'], 'xfs-peer: --dht-port: expected a port from 0 to 65535, got "70000"'],
		[['--dht-port', '0', '--announce-ms', '700', '--dht-ttl-ms', '1000'], 'xfs-peer: --announce-ms 700 must be below 2/3 of --dht-ttl-ms 1000, or announces expire between two rounds'],
	];
	for (const [args, line] of cases) {
		const child = startChild(t, peerEntry, ['--id', 'A', '--dir', dir, ...args]);
		t.is(await child.stderr.next(/^xfs-peer: /), line);
		t.like(await child.exited, {code: 2});
		t.is(child.stderr.lines.length, 1);
	}
});
