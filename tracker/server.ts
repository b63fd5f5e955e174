/** The tracker's HTTP face: parses requests, calls TrackerState, replies JSON. */
import {randomBytes, randomUUID} from 'node:crypto';
import type {AddressInfo} from 'node:net';
import type {IncomingMessage, RequestListener, Server, ServerResponse} from 'node:http';
import express from 'express';
import {requireSignatureHeaders, requireSigned, sessionPartOf, signedJson, signerOf} from '../source/common/auth.js';
import {
	acceptSessionOffer, checkRequest, identityText, keyFingerprint, ReplayGuard, type Session, signatureHeaders, verifyText,
} from '../source/common/signing.js';
import {jsonErrorHandler, notFoundRoute, sendError} from '../source/common/express-json.js';
import {requestIds, requestLog, type Logger} from '../source/common/log.js';
import {closeServer, formatHost, listen} from '../source/common/listen.js';
import {freshConnections, requestJson} from '../source/common/http-client.js';
import {
	isValidFileName, parseFileName, parseIdentityReply, parseListUpdateBody, parseMd5, parsePartialBody, parsePeerId, parseUpdateListBody, type UpdateListBody, type FilesReply, type HealthReply, type HeartbeatReply, type PeersReply,
} from '../source/common/wire.js';
import {Prober, UrlGate} from './prober.js';
import {parseJsonBody, readBody, sessionWrite} from './session-writes.js';
import {IdInUseError, TrackerState} from './tracker-state.js';

export type TrackerOptions = {
	port?: number;
	host?: string;
	ttlMs?: number;
	/** Largest JSON body accepted (UpdateList of a big share dir). */
	bodyLimit?: string | number;
	maxFilesPerPeer?: number;
	maxPeersPerFind?: number;
	/** How long the tracker waits for a peer it probes (suspect reports, id conflicts, a peer that joins). */
	probeTimeoutMs?: number;
	/**
	 * Challenge each peer that joins (or moves to a new URL, or claims an id with a new key): one
	 * whose URL does not answer with its key is not offered (default true; false for tests of the state alone).
	 */
	probeOnJoin?: boolean;
	/**
	 * How long after its start a Find that would be NOT_FOUND is answered 503 WARMING_UP with
	 * Retry-After instead: the live peers have not all re-sent their lists yet (soft state).
	 */
	warmupMs?: number;
	/** Shared secret that UpdateList, heartbeat, leave and suspect must carry. */
	secret?: string;
	now?: () => number;
	log?: (message: string) => void;
	/** Warnings (a mismatch, a refused signature, a name conflict); default: log. */
	warn?: (message: string) => void;
	/** Structured request log (failed requests, with request ids). */
	logger?: Logger;
};

/** One default heartbeat interval of a peer (--heartbeat-ms 5000): by then every live peer has re-sent its list. */
export const defaultWarmupMs = 5000;

/** Room for an UpdateList of 100 000 files (about 8 MB of JSON) with margin. */
export const defaultBodyLimit = '16mb';

export type RunningTracker = {url: string; state: TrackerState; server: Server; close: () => Promise<void>};

export async function startTracker(options: TrackerOptions = {}): Promise<RunningTracker> {
	const {
		port = 7000, host = '127.0.0.1', ttlMs = 15_000, bodyLimit = defaultBodyLimit,
		maxFilesPerPeer = 100_000, maxPeersPerFind = 1000, probeTimeoutMs = 1500, warmupMs = defaultWarmupMs, probeOnJoin = true,
		secret, now = Date.now, log = () => {}, logger,
	} = options;
	const warn = options.warn ?? log;
	const startedAt = now();
	const conflictsSaid = new Set<string>();
	const state = new TrackerState({
		epoch: randomUUID(),
		ttlMs,
		maxPeersPerFind,
		maxFilesPerPeer,
		// Claims that arrive while the peers re-send their lists after this start cannot be ordered.
		claimsSettleAt: startedAt + warmupMs,
		onConflict({name, holder, key, md5, owner, ownerMd5}) {
			const said = `${name} ${holder} ${key} ${md5}`;
			if (!conflictsSaid.has(said) && conflictsSaid.size < 10_000) {
				conflictsSaid.add(said);
				warn(`name conflict: peer ${holder} (key ${keyFingerprint(key)}…) lists "${name}" as md5 ${md5}, but its owner (key ${keyFingerprint(owner)}…) published md5 ${ownerMd5}: never offered`);
			}
		},
	});

	/**
	 * True when `url` answers a fresh challenge as peer `id`, signed with `key` (on a fresh
	 * connection, no redirects, a small timeout and a capped reply). Without a key (an id bound
	 * by no signed registration, in tests of the state) the id alone must match.
	 */
	async function answersAs(id: string, url: string, key: string | undefined): Promise<boolean> {
		const challenge = randomBytes(16).toString('hex');
		try {
			const reply = parseIdentityReply(await requestJson(`${url}/identity?challenge=${challenge}`, {timeoutMs: probeTimeoutMs, maxBytes: 4096, agent: freshConnections}));
			return reply.id === id && (key === undefined || (reply.key === key && verifyText(key, identityText(id, challenge), reply.signature)));
		} catch {
			return false;
		}
	}

	// Reachability (a peer that joins, or is not reachable) and reports of dead peers are probed apart: a report after a peer died must not get the answer of a probe from before.
	const gate = new UrlGate();
	const reachability = new Prober(answersAs, {now, minIntervalMs: 5000, gate});
	const reports = new Prober(answersAs, {now, minIntervalMs: 2000, gate});
	/** Probes a peer's URL (at most once per URL every few seconds) and records whether it answers; says when that changes. */
	function probeReachability(id: string, url: string): void {
		void reachability.check(id, url, state.bindingOf(id, now())?.key).then(({alive}) => {
			if (state.setReachable(id, url, alive)) {
				log(alive ? `peer ${id} at ${url} answers again` : `peer ${id} at ${url} does not answer as itself: not offered in Find`);
			}
		});
	}

	/** A Find reply is JSON already, cached per name: no per-request serialization. */
	function sendFound(response: ServerResponse, body: string): void {
		response.writeHead(200, {'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body)}).end(body);
	}

	const app = express();
	app.disable('x-powered-by');
	app.set('etag', false);
	const nextRequestId = requestIds();
	if (logger) {
		app.use(requestLog(logger, nextRequestId));
	}

	// Reads come first: they stay open (they reveal names and addresses only) and carry no body.
	app.get('/files/:name', (request, response) => {
		const name = parseFileName(request.params.name);
		if (request.query.md5 !== undefined) {
			// Exactly this content, whoever owns the name.
			const md5 = parseMd5(request.query.md5, 'md5');
			const exact = state.find(name, now(), md5);
			if (exact) {
				response.json(exact);
			} else {
				sendError(response, 'NOT_FOUND', `no peer holds "${name}" with md5 ${md5}`);
			}

			return;
		}

		const found = state.findBody(name, now());
		if (found === undefined) {
			// Two keys claiming the name is NAME_CONFLICT, never either of them.
			state.find(name, now());
			const warmingFor = startedAt + warmupMs - now();
			if (warmingFor > 0) {
				response.set('Retry-After', String(Math.ceil(warmingFor / 1000)));
				sendError(response, 'WARMING_UP', `the tracker started ${now() - startedAt} ms ago and no peer has listed "${name}" yet; ask again`);
				return;
			}

			sendError(response, 'NOT_FOUND', `no peer holds "${name}"`);
			return;
		}

		sendFound(response, found);
	});

	app.get('/files', (_request, response) => {
		response.json({files: state.files(now())} satisfies FilesReply);
	});

	app.get('/peers', (_request, response) => {
		response.json({peers: state.peers(now())} satisfies PeersReply);
	});

	app.get('/health', (_request, response) => {
		response.json({ok: true, epoch: state.epoch, peers: state.peerCount, files: state.fileCount, secured: Boolean(secret)} satisfies HealthReply);
	});

	// Every write is signed by a peer's key, and carries the MAC of the secret when one is set: one check for every write route.
	const said = new Set<string>();
	const sayOnce = (line: string) => {
		if (!said.has(line) && said.size < 1000) {
			said.add(line);
			warn(line);
		}
	};

	const writeGuard = new ReplayGuard();
	const writes = requireSigned({
		secret,
		needKey: true,
		guard: writeGuard,
		now,
		sessionOf: id => state.sessionOf(id, now()),
		onRefused(reason, request) {
			sayOnce(`refused ${request.method} ${request.path.slice(0, 100)} from ${request.ip ?? '?'}: ${reason}`);
		},
		onMismatch(request) {
			sayOnce(`a peer at ${request.ip ?? '?'} signs with a --secret but this tracker has none: a mismatch (its MAC is not checked)`);
		},
	});
	const headersFirst = requireSignatureHeaders({needKey: true, now});
	const parseJson = signedJson(bodyLimit);
	app.use((request, response, next) => {
		if (request.method === 'GET' || request.method === 'HEAD') {
			next();
			return;
		}

		headersFirst(request, response, () => {
			parseJson(request, response, error => {
				if (error) {
					next(error);
					return;
				}

				writes(request, response, next);
			});
		});
	});

	/** Only a peer speaks for itself: a write about machID :id must be signed by the key the id is bound to (a report about another peer excepted). */
	app.use('/peers/:id', (request, response, next) => {
		if (request.method === 'GET' || request.method === 'HEAD' || (request.method === 'PUT' && request.path === '/') || request.path === '/suspect') {
			next();
			return;
		}

		const id = parsePeerId(request.params.id);
		const binding = state.bindingOf(id, now());
		const signer = signerOf(response);
		if (binding?.key !== undefined && binding.key !== signer) {
			sendError(response, 'ID_IN_USE', `machID "${id}" is bound to another key (${keyFingerprint(binding.key)}…, at ${binding.url}): only that peer may change it`);
			return;
		}

		next();
	});

	/** A registration signed by the key may offer a session; it is answered with the tracker's half. */
	function sessionFor(id: string, response: express.Response): {session?: Session; reply?: {id: string; key: string}} {
		const {offer} = sessionPartOf(response);
		if (offer === undefined) {
			return {};
		}

		const {session, publicKey} = acceptSessionOffer(offer, id);
		return {session, reply: {id: session.id, key: publicKey}};
	}

	app.put('/peers/:id', async (request, response) => {
		const id = parsePeerId(request.params.id);
		const body = parseUpdateListBody(request.body, {maxFilesPerPeer});
		const key = signerOf(response);
		const existing = state.bindingOf(id, now());
		if (existing?.url === body.url && existing.key === key) {
			const {session, reply} = sessionFor(id, response);
			response.json({...state.updateList(id, body, now(), {key, session}), ...(reply ? {session: reply} : {})});
			return;
		}

		// A new peer, one at a new URL, or a new key for a live id: the URL must answer the challenge with that key,
		// and a live holder of the id keeps it while its URL answers with its key.
		const [claim, holder] = await Promise.all([
			probeOnJoin ? reachability.check(id, body.url, key) : undefined,
			// At most one probe a second of the holder, however often a claimant asks.
			existing ? reports.check(id, existing.url, existing.key, {maxAgeMs: 1000}) : undefined,
		]);
		const proven = claim?.alive ?? true;
		if (existing && (holder!.alive || (existing.key !== key && !proven))) {
			throw new IdInUseError(id, existing.url);
		}

		const {session, reply} = sessionFor(id, response);
		response.json({...state.updateList(id, body, now(), {key, takeOver: true, reachable: proven, session}), ...(reply ? {session: reply} : {})});
		if (existing && existing.key !== key) {
			log(`peer ${id} taken over by key ${keyFingerprint(key ?? '')}… at ${body.url} (the last holder, key ${keyFingerprint(existing.key ?? '')}… at ${existing.url}, does not answer)`);
		} else if (existing) {
			log(`peer ${id} moved from ${existing.url} to ${body.url}`);
		}

		if (!proven) {
			log(`peer ${id} at ${body.url} does not answer as itself: not offered in Find`);
		}
	});

	app.patch('/peers/:id/files', (request, response) => {
		const id = parsePeerId(request.params.id);
		response.json(state.updateFiles(id, parseListUpdateBody(request.body), now()));
	});

	app.put('/peers/:id/partial', (request, response) => {
		const id = parsePeerId(request.params.id);
		response.json(state.setPartial(id, parsePartialBody(request.body).files, now()));
	});

	function heartbeat(id: string): HeartbeatReply {
		const reply = state.heartbeat(id, now());
		const url = state.urlOf(id, now());
		if (reply.reachable === false && url) {
			// Asked again (rate-limited): a peer whose link came back is offered again.
			probeReachability(id, url);
		}

		return reply;
	}

	app.post('/peers/:id/heartbeat', (request, response) => {
		response.json(heartbeat(parsePeerId(request.params.id)));
	});

	app.delete('/peers/:id', (request, response) => {
		const id = parsePeerId(request.params.id);
		if (!state.leave(id)) {
			sendError(response, 'NOT_FOUND', `no peer "${id}"`);
			return;
		}

		log(`peer ${id} left`);
		response.status(204).end();
	});

	app.post('/peers/:id/suspect', async (request, response) => {
		const id = parsePeerId(request.params.id);
		const reporter = signerOf(response);
		if (reporter !== undefined && !state.hasLiveKey(reporter, now())) {
			// Only a peer of the network reports another: a stranger's reports cost nothing.
			sendError(response, 'UNAUTHORIZED', 'a suspect report must come from a registered peer (signed with its key)');
			return;
		}

		const url = state.urlOf(id, now());
		if (!url) {
			sendError(response, 'NOT_FOUND', `no peer "${id}"`);
			return;
		}

		// Reports about one holder share a probe, and an answer up to 2 s old: a flood of reports costs one request every 2 s.
		const check = await reports.check(id, url, state.bindingOf(id, now())?.key);
		// A peer heard from since the check began (it came back and re-registered) is kept even if the probe failed,
		// but while its URL does not answer it is not offered (its heartbeats may come from behind a wrong --advertise).
		const dropped = !check.alive && state.dropIfSilentSince(id, check.startedAt);
		if (dropped) {
			log(`peer ${id} at ${url} reported down and dropped`);
		} else if (!check.alive && state.setReachable(id, url, false)) {
			log(`peer ${id} at ${url} does not answer as itself: not offered in Find`);
		}

		response.json({dropped});
	});

	app.use(notFoundRoute);
	app.use(jsonErrorHandler(error => {
		log(`unexpected error: ${error instanceof Error ? error.stack : String(error)}`);
	}));

	/**
	 * The hot paths: a Find that succeeds, and a peer's UpdateList again or its heartbeat through
	 * its session, are answered before the Express router, which costs three to five times the
	 * rest of such a request (bench:tracker). Anything else (another route or method, a name to
	 * decode, refuse or not find, a list from a new URL or key, a signature that does not hold,
	 * debug request logs) goes through the app, so every error and its log line come from one place.
	 */
	const fast = !logger?.isLevelEnabled('debug');
	const answerFast: RequestListener = (request, response) => {
		if (fast && request.method === 'GET' && request.url!.startsWith('/files/')) {
			const name = request.url!.slice('/files/'.length);
			const body = isValidFileName(name) ? state.findBody(name, now()) : undefined;
			if (body) {
				if (logger) {
					response.setHeader('X-Request-Id', nextRequestId());
				}

				sendFound(response, body);
				return;
			}
		}

		const write = fast ? sessionWrite(request) : undefined;
		if (write) {
			readBody(request, write.length, body => {
				answerSessionWrite(request, response, write, body);
			});
			return;
		}

		app(request, response);
	};

	/**
	 * Answers the write when everything holds: the session speaks for the key the id is bound to,
	 * a list comes from the URL the peer registered at, and the session's MAC holds (the request
	 * then counts against replays). Otherwise the app answers it, with the body already read.
	 */
	function answerSessionWrite(request: IncomingMessage, response: ServerResponse, {id, kind}: {id: string; kind: 'list' | 'heartbeat'}, raw: Buffer): void {
		const at = now();
		const handOver = (parsed?: unknown) => {
			Object.assign(request, {rawBody: raw, body: parsed});
			app(request, response);
		};

		// Nothing is parsed for a request that does not prove itself: the session, its binding and its MAC first.
		const binding = state.bindingOf(id, at);
		const session = state.sessionOf(String(request.headers[signatureHeaders.session]), at);
		const check = session !== undefined && binding?.key === session.key
			? checkRequest(request.headers, {method: request.method!, path: request.url!, body: raw}, {secret, needKey: true, now: at, sessionOf: () => session})
			: undefined;
		if (!check?.ok) {
			handOver();
			return;
		}

		let list: UpdateListBody | undefined;
		const parsed = kind === 'list' ? parseJsonBody(raw) : undefined;
		try {
			list = kind === 'list' ? parseUpdateListBody(parsed, {maxFilesPerPeer}) : undefined;
		} catch {}

		if ((kind === 'list' && list?.url !== binding!.url) || !writeGuard.admit(check.replayId, at)) {
			handOver(parsed);
			return;
		}

		const reply = kind === 'list' ? state.updateList(id, list!, at, {key: session!.key}) : heartbeat(id);
		const text = JSON.stringify(reply);
		response.writeHead(200, {'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text)}).end(text);
	}

	const server = await listen(answerFast, port, host);
	server.headersTimeout = 10_000;
	server.requestTimeout = 60_000;
	const sweep = setInterval(() => {
		for (const id of state.expire(now())) {
			log(`peer ${id} expired`);
		}
	}, Math.max(50, Math.min(1000, ttlMs / 4)));
	sweep.unref();

	const address = server.address() as AddressInfo;
	return {
		url: `http://${formatHost(host)}:${address.port}`,
		state,
		server,
		async close() {
			clearInterval(sweep);
			await closeServer(server);
		},
	};
}
