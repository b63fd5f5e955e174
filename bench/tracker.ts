/**
 * The tracker under load. Registers 10 000 peers x 100 files (each name held by 10 peers),
 * every UpdateList signed by its peer's key and each new peer challenged at its own loopback
 * address (an identity responder here answers for all of them), then measures Find with
 * autocannon, side by side in the same run with a bare Express 5 JSON endpoint answering a
 * reply of the same shape; then signed UpdateLists of registered peers against a bare Express
 * PUT that parses the same bodies, and signed heartbeats; and what signing and checking one
 * request costs alone. A Find that succeeds is answered ahead of the tracker's Express router;
 * the same Find with its name percent-encoded goes through the router, and is measured too.
 *
 * With `--before <dir>` (a checkout of an earlier commit, built), that commit's tracker is
 * measured too, in the same run, with the same UpdateLists and heartbeats unsigned (as it took
 * them): the cost of signing, before and after. The last commit before signed requests is fffb52a^1:
 *
 *   git worktree add /tmp/xfs-before fffb52a^1 && ln -s "$PWD/node_modules" /tmp/xfs-before/ && (cd /tmp/xfs-before && npx tsx build.ts)
 *
 *   npm run bench:tracker [-- --peers 10000 --files-per-peer 100 --distinct-names 100000 --connections 100 --seconds 10 --rounds 2 --before /tmp/xfs-before]
 */
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import path from 'node:path';
import autocannon from 'autocannon';
import {
	checkRequest, completeSession, createIdentity, createSessionOffer, identityText, type Identity, type Session, signRequest, signText,
} from '../source/common/signing.js';
import {signNameRecord} from '../source/common/names.js';
import {
	assertBuilt, benchFlags, cpuMsOf, describeMachine, formatTable, median, memoryOf, MiB, repoRoot, saveCsv, startProcess,
	startTrackerProcess, stopAll,
} from './lib.js';
import {entryOf, fileNameOf, ownerOf, peerIdOf, peerOfHost, type Population, updateListOf} from './tracker-data.js';

const flags = benchFlags({peers: '10000', 'files-per-peer': '100', 'distinct-names': '100000', connections: '100', pipelining: '1', seconds: '10', rounds: '2', 'register-concurrency': '8', before: ''});
const population: Population = {peers: Number(flags.peers), filesPerPeer: Number(flags['files-per-peer']), distinctNames: Number(flags['distinct-names'])};
const connections = Number(flags.connections);
/** Requests in flight on each connection of the Find rounds: above 1, the load generator spends less per request, so the servers' own ceilings show. */
const pipelining = Number(flags.pipelining);
const seconds = Number(flags.seconds);
const rounds = Number(flags.rounds);
const holdersPerName = Math.round(population.peers * population.filesPerPeer / population.distinctNames);

const minShareOfBare = 2;
const maxP99Ms = 20;
const maxRssAfterRegistration = 600 * MiB;

/** Each name's record, signed by its owner (the first peer to list it), made on first use: every holder's list carries it. */
const records: Array<{owner: string; sig: string}> = [];
const recordOf = (index: number) => {
	records[index] ??= (() => {
		const identity = keyOf(ownerOf(index, population));
		const {owner, sig} = signNameRecord(identity, entryOf(index), 1);
		return {owner, sig};
	})();
	return records[index];
};

const keys: Identity[] = [];
const keyOf = (peer: number) => {
	keys[peer] ??= createIdentity();
	return keys[peer];
};

/** Answers the tracker's challenge for every bench peer, each at its own loopback address. */
async function startIdentityResponder(): Promise<http.Server> {
	const server = http.createServer((request, response) => {
		const peer = peerOfHost(request.socket.localAddress?.replace(/^::ffff:/, '') ?? '');
		const challenge = new URL(request.url!, 'http://x').searchParams.get('challenge') ?? '';
		if (peer === undefined) {
			response.statusCode = 404;
			response.end();
			return;
		}

		response.setHeader('content-type', 'application/json');
		if (request.url!.startsWith('/load')) {
			// The tracker from before signed requests probes a new peer's load instead.
			response.end(JSON.stringify({id: peerIdOf(peer), load: 0}));
			return;
		}

		const identity = keyOf(peer);
		response.end(JSON.stringify({id: peerIdOf(peer), key: identity.publicKey, signature: signText(identity, identityText(peerIdOf(peer), challenge))}));
	});
	await new Promise<void>(resolve => {
		server.listen(0, '0.0.0.0', resolve);
	});
	return server;
}

let responderPort = 9;
/** Each registered peer's session, set up by its signed registration (as a peer's is). */
const sessions: Session[] = [];

async function put(agent: http.Agent, url: URL, {body, peer, signed}: {body: string; peer: number; signed: boolean}): Promise<number> {
	return new Promise((resolve, reject) => {
		const offer = createSessionOffer();
		const signature = signed ? signRequest({method: 'PUT', path: url.pathname, body, offer: offer.publicKey}, {identity: keyOf(peer)}) : {};
		const request = http.request(url, {method: 'PUT', agent, headers: {'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...signature}}, response => {
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.once('end', () => {
				if (response.statusCode === 200 && signed) {
					const {session} = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {session: {id: string; key: string}};
					sessions[peer] = completeSession(offer, session, peerIdOf(peer));
				}

				resolve(response.statusCode ?? 0);
			});
		});
		request.once('error', reject);
		request.end(body);
	});
}

/** Sends every peer's UpdateList (signed, with a session offer, or as a tracker from before signing took it); returns the elapsed ms. */
async function registerAll(trackerUrl: string, signed = true): Promise<number> {
	const agent = new http.Agent({keepAlive: true, maxSockets: Number(flags['register-concurrency'])});
	const started = performance.now();
	let next = 0;
	const worker = async () => {
		while (next < population.peers) {
			const peer = next++;
			const status = await put(agent, new URL(`/peers/${peerIdOf(peer)}`, trackerUrl), {body: JSON.stringify(updateListOf(peer, population, responderPort, signed ? recordOf : undefined)), peer, signed});
			if (status !== 200) {
				throw new Error(`registering ${peerIdOf(peer)} answered ${status}`);
			}
		}
	};

	await Promise.all(Array.from({length: Number(flags['register-concurrency'])}, worker));
	agent.destroy();
	return performance.now() - started;
}

async function cannon(url: string, method: 'GET' | 'POST', pathOf: () => string, duration = seconds): Promise<autocannon.Result> {
	return autocannon({
		url,
		connections,
		pipelining,
		duration,
		requests: [{method, setupRequest: request => ({...request, path: pathOf()})}],
	});
}

/** Requests made one by one, each signed afresh (through the peer's session, or by its key), or not: a path, a body, and the peer who signs it. */
async function signedCannon(url: string, method: 'PUT' | 'POST', next: () => {path: string; body?: string; peer: number}, sign: 'session' | 'key' | 'no'): Promise<autocannon.Result> {
	return autocannon({
		url,
		connections,
		duration: seconds,
		requests: [{
			method,
			setupRequest(request) {
				const {path: requestPath, body, peer} = next();
				const headers: Record<string, string> = body === undefined ? {} : {'content-type': 'application/json'};
				return {
					...request,
					path: requestPath,
					body,
					headers: {
						...headers,
						...(sign === 'no' ? {} : signRequest({method, path: requestPath, body}, sign === 'session' ? {session: sessions[peer]} : {identity: keyOf(peer)})),
					},
				};
			},
		}],
	});
}

/** Microseconds per call of `work`, over `count` calls. */
function microsPer(count: number, work: (index: number) => void): number {
	const started = performance.now();
	for (let index = 0; index < count; index++) {
		work(index);
	}

	return ((performance.now() - started) * 1000) / count;
}

const randomName = () => `/files/${fileNameOf(Math.floor(Math.random() * population.distinctNames))}`;
/** The same Find with its name percent-encoded: the tracker must decode it, so its Express router answers. */
const routed = (findPath: string) => findPath.replace(/\d/, digit => `%${digit.charCodeAt(0).toString(16)}`);
const randomRoutedName = () => routed(randomName());
const randomPeer = () => Math.floor(Math.random() * population.peers);
/**
 * A registered peer's list again (same URL and key: no challenge), as its next UpdateList would
 * be: one file added since its last list, or removed again (each of these peers alternates). The
 * bodies are made before the run, so the bench's own JSON work does not weigh on the tracker's figure.
 */
const listPeers: number[] = [];
const listBodies = new Map<number, {bodies: [string, string]; turn: number}>();
function prepareUpdateLists(): void {
	const count = Math.min(population.peers, 2000);
	for (let index = 0; index < count; index++) {
		const peer = Math.floor(index * population.peers / count);
		const list = updateListOf(peer, population, responderPort, recordOf);
		const added = {...list, files: [...list.files, {name: `added-${peerIdOf(peer)}.bin`, md5: '0123456789abcdef0123456789abcdef', size: 1}]};
		listPeers.push(peer);
		listBodies.set(peer, {bodies: [JSON.stringify(added), JSON.stringify(list)], turn: 0});
	}
}

const randomUpdateList = () => {
	const peer = listPeers[Math.floor(Math.random() * listPeers.length)]!;
	const lists = listBodies.get(peer)!;
	return {path: `/peers/${peerIdOf(peer)}`, body: lists.bodies[lists.turn++ % 2]!, peer};
};

const randomHeartbeat = () => {
	const peer = randomPeer();
	return {path: `/peers/${peerIdOf(peer)}/heartbeat`, peer};
};

async function main(): Promise<void> {
	assertBuilt();
	const machine = describeMachine();
	console.log(`machine: ${machine}`);
	// A long TTL: the registered peers send no heartbeats of their own during the bench.
	const tracker = await startTrackerProcess(['--ttl-ms', String(60 * 60 * 1000)]);
	const responder = await startIdentityResponder();
	responderPort = (responder.address() as AddressInfo).port;
	const bare = startProcess(path.join(repoRoot, 'bench', 'bare-express.ts'), [String(holdersPerName)], {nodeArgs: ['--import', 'tsx']});
	const bareUrl = (await bare.stdout.next(/^bare listening on /, 60_000)).replace('bare listening on ', '').trim();
	try {
		console.log(`registering ${population.peers} peers x ${population.filesPerPeer} files (${population.distinctNames} names, ${holdersPerName} holders each)`);
		const registerMs = await registerAll(tracker.url);
		const afterRegistration = memoryOf(tracker.pid);
		const health = await (await fetch(`${tracker.url}/health`)).json() as {peers: number; files: number};
		console.log(`registered in ${(registerMs / 1000).toFixed(1)} s (${(population.peers / (registerMs / 1000)).toFixed(0)} UpdateLists/s); tracker knows ${health.peers} peers, ${health.files} files; RSS ${(afterRegistration.current / MiB).toFixed(0)} MiB, peak ${(afterRegistration.peak / MiB).toFixed(0)} MiB`);
		if (health.peers !== population.peers) {
			throw new Error(`the tracker knows ${health.peers} peers, expected ${population.peers}`);
		}

		const samplePath = randomName();
		const sampleText = await (await fetch(`${tracker.url}${samplePath}`)).text();
		const routedPath = routed(samplePath);
		if (await (await fetch(`${tracker.url}${routedPath}`)).text() !== sampleText) {
			throw new Error(`${routedPath} and ${samplePath} got different replies`);
		}

		const sample = JSON.parse(sampleText) as {peers: unknown[]};
		console.log(`a Find reply names ${sample.peers.length} holders; the bare endpoint answers ${holdersPerName}`);

		console.log(`warming up both servers (3 s each), then ${rounds} rounds of ${seconds} s each, ${connections} connections`);
		await cannon(bareUrl, 'GET', randomName, 3);
		await cannon(tracker.url, 'GET', randomName, 3);

		const header = ['round', 'endpoint', 'req_s', 'p50_ms', 'p99_ms', 'max_ms', 'errors', 'non_2xx'];
		const rows: Array<Array<string | number>> = [];
		const shares: number[] = [];
		const findP99: number[] = [];
		const findRates: number[] = [];
		const describe = (result: autocannon.Result) => [Math.round(result.requests.average), result.latency.p50, result.latency.p99, result.latency.max, result.errors, result.non2xx];
		// The server's own CPU per request (user + system of its process over the round): what it can answer at most, whatever the load generator's own ceiling.
		const cpuPerRequest = async (pid: number, run: () => Promise<autocannon.Result>) => {
			const before = cpuMsOf(pid);
			const result = await run();
			return {result, micros: ((cpuMsOf(pid) - before) * 1000) / Math.max(1, result.requests.total), busy: (cpuMsOf(pid) - before) / (seconds * 1000)};
		};

		const cpuShares: number[] = [];
		for (let round = 1; round <= rounds; round++) {
			const {result: bareResult, micros: bareMicros, busy: bareBusy} = await cpuPerRequest(bare.pid, async () => cannon(bareUrl, 'GET', randomName));
			rows.push([round, 'bare Express 5 res.json', ...describe(bareResult)]);
			const {result: findResult, micros: findMicros, busy: findBusy} = await cpuPerRequest(tracker.pid, async () => cannon(tracker.url, 'GET', randomName));
			rows.push([round, 'tracker GET /files/:name', ...describe(findResult)]);
			cpuShares.push(bareMicros / findMicros);
			console.log(`round ${round}: server CPU per request: bare ${bareMicros.toFixed(0)} µs (busy ${(bareBusy * 100).toFixed(0)} %), Find ${findMicros.toFixed(0)} µs (busy ${(findBusy * 100).toFixed(0)} %): Find's capacity ${(bareMicros / findMicros).toFixed(2)}x the bare endpoint's`);
			const routedResult = await cannon(tracker.url, 'GET', randomRoutedName);
			rows.push([round, 'tracker GET /files/:name via the router', ...describe(routedResult)]);
			for (const [what, result] of [['bare', bareResult], ['find', findResult], ['find via the router', routedResult]] as const) {
				if (result.non2xx > 0 || result.errors > 0) {
					throw new Error(`failed requests: ${what} ${result.errors} errors, ${result.non2xx} non-2xx`);
				}
			}

			shares.push(findResult.requests.average / bareResult.requests.average);
			findP99.push(findResult.latency.p99);
			findRates.push(findResult.requests.average);
			console.log(`round ${round}: bare ${Math.round(bareResult.requests.average)} req/s, Find ${Math.round(findResult.requests.average)} req/s (${(shares.at(-1)! * 100).toFixed(0)}%), Find p99 ${findResult.latency.p99} ms; Find via the router ${Math.round(routedResult.requests.average)} req/s, p99 ${routedResult.latency.p99} ms`);
		}

		prepareUpdateLists();
		const bareList = await signedCannon(bareUrl, 'PUT', randomUpdateList, 'no');
		rows.push(['-', 'bare Express 5 PUT, express.json of the same body', ...describe(bareList)]);
		const list = await signedCannon(tracker.url, 'PUT', randomUpdateList, 'session');
		rows.push(['-', `tracker PUT /peers/:id (session MAC, ${population.filesPerPeer} files)`, ...describe(list)]);
		const keyList = await signedCannon(tracker.url, 'PUT', randomUpdateList, 'key');
		rows.push(['-', `tracker PUT /peers/:id (signed by the key, ${population.filesPerPeer} files)`, ...describe(keyList)]);
		const beat = await signedCannon(tracker.url, 'POST', randomHeartbeat, 'session');
		rows.push(['-', 'tracker POST heartbeat (session MAC)', ...describe(beat)]);
		const keyBeat = await signedCannon(tracker.url, 'POST', randomHeartbeat, 'key');
		rows.push(['-', 'tracker POST heartbeat (signed by the key)', ...describe(keyBeat)]);
		for (const [what, result] of [['bare PUT', bareList], ['UpdateList', list], ['UpdateList by key', keyList], ['heartbeat', beat], ['heartbeat by key', keyBeat]] as const) {
			if (result.non2xx > 0 || result.errors > 0) {
				throw new Error(`failed requests: ${what} ${result.errors} errors, ${result.non2xx} non-2xx`);
			}
		}

		const afterLoad = memoryOf(tracker.pid);
		// The tracker from before signed requests, in this run: the same population, Finds, UpdateLists and heartbeats, unsigned.
		let before: {registerMs: number; find: autocannon.Result; list: autocannon.Result; beat: autocannon.Result} | undefined;
		if (flags.before) {
			const old = await startTrackerProcess(['--ttl-ms', String(60 * 60 * 1000)], path.resolve(flags.before, 'dist', 'tracker', 'cli.js'));
			const beforeRegisterMs = await registerAll(old.url, false);
			await cannon(old.url, 'GET', randomName, 3);
			const find = await cannon(old.url, 'GET', randomName);
			rows.push(['-', 'before: tracker GET /files/:name', ...describe(find)]);
			const oldList = await signedCannon(old.url, 'PUT', randomUpdateList, 'no');
			rows.push(['-', `before: tracker PUT /peers/:id (unsigned, ${population.filesPerPeer} files)`, ...describe(oldList)]);
			const oldBeat = await signedCannon(old.url, 'POST', randomHeartbeat, 'no');
			rows.push(['-', 'before: tracker POST heartbeat (unsigned)', ...describe(oldBeat)]);
			await old.stop();
			before = {registerMs: beforeRegisterMs, find, list: oldList, beat: oldBeat};
		}

		// What signing costs alone, in this process: the peer's signature of one UpdateList, and the tracker's check of it.
		const sampleList = randomUpdateList();
		const signed = Array.from({length: 2000}, () => signRequest({method: 'PUT', path: sampleList.path, body: sampleList.body}, {identity: keyOf(sampleList.peer)}));
		const signMicros = microsPer(2000, () => signRequest({method: 'PUT', path: sampleList.path, body: sampleList.body}, {identity: keyOf(sampleList.peer)}));
		const checkMicros = microsPer(2000, index => checkRequest(signed[index]!, {method: 'PUT', path: sampleList.path, body: sampleList.body}, {needKey: true, now: Date.now()}));
		const session = sessions[sampleList.peer]!;
		const sessionSigned = Array.from({length: 2000}, () => signRequest({method: 'PUT', path: sampleList.path, body: sampleList.body}, {session}));
		const sessionSignMicros = microsPer(2000, () => signRequest({method: 'PUT', path: sampleList.path, body: sampleList.body}, {session}));
		const sessionCheckMicros = microsPer(2000, index => checkRequest(sessionSigned[index]!, {method: 'PUT', path: sampleList.path, body: sampleList.body}, {needKey: true, now: Date.now(), sessionOf: () => ({macKey: session.macKey, key: keyOf(sampleList.peer).publicKey})}));
		console.log(`signing one UpdateList (${Buffer.byteLength(sampleList.body)} bytes): ${signMicros.toFixed(0)} µs; checking it: ${checkMicros.toFixed(0)} µs; through a session: ${sessionSignMicros.toFixed(0)} µs / ${sessionCheckMicros.toFixed(0)} µs`);

		console.log(`\n${formatTable(header, rows)}`);
		const share = median(shares);
		const p99 = Math.max(...findP99);
		const beforeAfter = before
			? [
				['before/after: Find req/s', `${Math.round(before.find.requests.average)} / ${Math.round(median(findRates))}`, '', ''],
				['before/after: UpdateList req/s (after: session MAC)', `${Math.round(before.list.requests.average)} / ${Math.round(list.requests.average)} (${((list.requests.average / before.list.requests.average) * 100).toFixed(0)}%)`, '', ''],
				['before/after: heartbeat req/s (after: session MAC)', `${Math.round(before.beat.requests.average)} / ${Math.round(beat.requests.average)} (${((beat.requests.average / before.beat.requests.average) * 100).toFixed(0)}%)`, '', ''],
				['before/after: registration of all UpdateLists', `${(before.registerMs / 1000).toFixed(1)} s / ${(registerMs / 1000).toFixed(1)} s`, '', ''],
			]
			: [];
		const summary = [
			['Find req/s vs bare (median of rounds)', `${(share * 100).toFixed(0)}%`, `>= ${minShareOfBare * 100}%`, share >= minShareOfBare ? 'met' : 'MISSED'],
			['Find capacity vs bare: server CPU per request, bare / Find (median of rounds)', `${(median(cpuShares) * 100).toFixed(0)}%`, `>= ${minShareOfBare * 100}%`, median(cpuShares) >= minShareOfBare ? 'met' : 'MISSED'],
			['Find p99 (worst round)', `${p99} ms`, `<= ${maxP99Ms} ms`, p99 <= maxP99Ms ? 'met' : 'MISSED'],
			['tracker RSS after registration', `${(afterRegistration.current / MiB).toFixed(0)} MiB`, `<= ${maxRssAfterRegistration / MiB} MiB`, afterRegistration.current <= maxRssAfterRegistration ? 'met' : 'MISSED'],
			['tracker peak RSS (registration and load)', `${(afterLoad.peak / MiB).toFixed(0)} MiB`, '', ''],
			['registration of all UpdateLists (signed, each peer challenged)', `${(registerMs / 1000).toFixed(1)} s`, '', ''],
			['UpdateList req/s (session MAC) vs bare Express PUT', `${((list.requests.average / bareList.requests.average) * 100).toFixed(0)}%`, `>= ${minShareOfBare * 100}%`, list.requests.average >= minShareOfBare * bareList.requests.average ? 'met' : 'MISSED'],
			['UpdateList req/s (signed by the key) vs bare Express PUT', `${((keyList.requests.average / bareList.requests.average) * 100).toFixed(0)}%`, '', ''],
			...beforeAfter,
			['signing / checking one UpdateList by the key', `${signMicros.toFixed(0)} µs / ${checkMicros.toFixed(0)} µs`, '', ''],
			['signing / checking one UpdateList through a session', `${sessionSignMicros.toFixed(0)} µs / ${sessionCheckMicros.toFixed(0)} µs`, '', ''],
		];
		console.log(`\n${formatTable(['measure', 'value', 'target', ''], summary)}`);
		console.log(`saved ${await saveCsv('tracker.csv', header, [...rows, ...summary.map(([measure, value, target, verdict]) => ['summary', measure!, value!, target!, verdict!, '', '', ''])], machine)}`);
	} finally {
		responder.close();
		await stopAll();
	}
}

await main();
