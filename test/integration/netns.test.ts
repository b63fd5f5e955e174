import {writeFile} from 'node:fs/promises';
import path from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {nextLogMessage} from '../helpers/faults.js';
import {getJsonIn, netnsUnavailable, runInHost, startInHost, TestNetwork, type Host} from '../helpers/netns.js';
import {eventually, peerEntry, shareDir, trackerEntry, type Child} from '../helpers/processes.js';

const title = 'a host cut off from the network: downloads fall over to another holder, the tracker expires it, it rejoins when its link returns';
const unavailable = await netnsUnavailable();
/** B's heartbeat either times out while cut off (it then just re-sends its list) or gets through late and learns it was dropped. */
const rejoined = /^tracker (reachable again|had dropped this peer): sent the whole list \(3 files\)$/;

type ScriptedPeer = Child & {run: (line: string) => Promise<Record<string, any>>};

/** A peer on its own host, listening on the host's address; with `serve` false it takes commands on stdin. */
async function startHostPeer(t: ExecutionContext, host: Host, tracker: string, dir: string, latencyFile: string, serve: boolean): Promise<ScriptedPeer> {
	const child = startInHost(t, host, peerEntry, [
		'--id', host.name, '--dir', dir, '--host', host.address, '--port', '7001', '--tracker', tracker, '--json',
		'--latency', latencyFile, '--latency-scale', '1', '--heartbeat-ms', '300', ...(serve ? ['--serve'] : []),
	]);
	const ready = JSON.parse(await child.stdout.next(line => line.includes('"event":"ready"'))) as {url: string};
	t.is(ready.url, `http://${host.address}:7001`);
	return {
		...child,
		async run(line) {
			child.child.stdin.write(`${line}\n`);
			return JSON.parse(await child.stdout.next(candidate => candidate.startsWith('{"cmd"'), 30_000)) as Record<string, any>;
		},
	};
}

if (unavailable) {
	test.skip(`${title} (skipped: ${unavailable})`, () => {});
} else {
	test(title, async t => {
		const network = await TestNetwork.create(t, ['tracker', 'B', 'C', 'me']);
		const trackerHost = network.host('tracker');
		const [b, c, me] = ['B', 'C', 'me'].map(name => network.host(name)) as [Host, Host, Host];

		// Real delays (scale 1): B is the cheaper holder of photo.jpg, and its 1.5 s before the first byte leave time to cut it off mid-request.
		const latencyFile = path.join(await shareDir(t), 'latency.csv');
		await writeFile(latencyFile, 'from,to,ms\nme,B,1500\nme,C,2000\nB,C,300\n');

		const tracker = startInHost(t, trackerHost, trackerEntry, ['--host', trackerHost.address, '--port', '7000', '--ttl-ms', '2000', '--quiet']);
		t.is(await tracker.stdout.next(/^tracker listening on /), `tracker listening on http://${trackerHost.address}:7000`);
		const trackerUrl = `http://${trackerHost.address}:7000`;
		const bPeer = await startHostPeer(t, b, trackerUrl, await shareDir(t, 'B'), latencyFile, true);
		await startHostPeer(t, c, trackerUrl, await shareDir(t, 'C'), latencyFile, true);
		const mePeer = await startHostPeer(t, me, trackerUrl, await shareDir(t), latencyFile, false);
		const peerIds = async () => ((await mePeer.run('peers')).peers as Array<{id: string}>).map(peer => peer.id);

		const found = await mePeer.run('find photo.jpg');
		t.deepEqual(found.peers.map((peer: any) => [peer.id, peer.url]), [['B', `http://${b.address}:7001`], ['C', `http://${c.address}:7001`]]);

		// Cut B off while it is about to answer the download: the request goes silent, the watchdog gives up, C serves.
		const bServing = runInHost(me, `
			for (;;) {
				try {
					const {load} = await (await fetch(process.argv[1], {signal: AbortSignal.timeout(1000)})).json();
					if (load > 0) break;
				} catch {}
				await new Promise(resolve => setTimeout(resolve, 5));
			}`, `http://${b.address}:7001/load`);
		mePeer.child.stdin.write('download photo.jpg\n');
		await bServing;
		await network.cut('B');
		const photo = JSON.parse(await mePeer.stdout.next(line => line.startsWith('{"cmd"'), 30_000)) as Record<string, any>;
		t.is(photo.ok, true);
		t.is(photo.from, 'C');
		t.deepEqual(photo.attempts, [{peer: 'B', outcome: 'stalled'}, {peer: 'C', outcome: 'ok'}]);
		t.deepEqual(await eventually(async () => {
			const ids = await peerIds();
			return ids.includes('B') ? undefined : ids;
		}), ['C', 'me']);
		t.regex(await nextLogMessage(bPeer.stderr, /tracker down/), /^tracker down, retrying in [\d.]+ s: tracker unreachable/);

		// The link returns: B finds the tracker dropped it and sends its whole list; its stuck upload ends.
		await network.restore('B');
		t.regex(await nextLogMessage(bPeer.stderr, /sent the whole list/), rejoined);
		// A first packet to a link just back may be lost (one SYN retransmit is 1 s, GetLoad's whole timeout): ask until B answers.
		const again = await eventually(async () => {
			const answer = await mePeer.run('find photo.jpg');
			return answer.down.length === 0 ? answer : undefined;
		});
		t.deepEqual(again.peers.map((peer: any) => peer.id), ['B', 'C']);
		t.is(again.local, true);
		// B's kernel retransmits the stuck response with growing intervals; the reset that ends it comes at the next one.
		t.is(await eventually(async () => {
			const {load} = await getJsonIn(me, `http://${b.address}:7001/load`) as {load: number};
			return load === 0 ? load : undefined;
		}, {timeoutMs: 30_000, intervalMs: 200}), 0);

		// Cut off again with no download to report it: the tracker's TTL alone drops it, and it rejoins again.
		await network.cut('B');
		t.deepEqual(await eventually(async () => {
			const ids = await peerIds();
			return ids.includes('B') ? undefined : ids;
		}), ['C', 'me']);
		await network.restore('B');
		t.regex(await nextLogMessage(bPeer.stderr, /sent the whole list/), rejoined);
		t.deepEqual(await peerIds(), ['B', 'C', 'me']);
	});
}
