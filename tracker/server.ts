/** The tracker's HTTP face: parses requests, calls TrackerState, replies JSON. */
import {randomUUID} from 'node:crypto';
import type {AddressInfo} from 'node:net';
import type {RequestListener, Server, ServerResponse} from 'node:http';
import express from 'express';
import {requireSecret} from '../source/common/auth.js';
import {jsonErrorHandler, notFoundRoute, sendError} from '../source/common/express-json.js';
import {requestIds, requestLog, type Logger} from '../source/common/log.js';
import {closeServer, formatHost, listen} from '../source/common/listen.js';
import {freshConnections, requestJson} from '../source/common/http-client.js';
import {
	isValidFileName, parseFileName, parseListUpdateBody, parseLoadReply, parsePeerId, parseUpdateListBody, type FilesReply, type HealthReply, type PeersReply,
} from '../source/common/wire.js';
import {Prober} from './prober.js';
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
	/** Probe each peer that joins (or moves to a new URL): one whose URL does not answer as it is not offered (default true). */
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
	const startedAt = now();
	const state = new TrackerState({epoch: randomUUID(), ttlMs, maxPeersPerFind, maxFilesPerPeer});

	/** True when `url` answers GET /load as peer `id` (on a fresh connection, as a peer's GetLoad). */
	async function answersAs(id: string, url: string): Promise<boolean> {
		try {
			const reply = parseLoadReply(await requestJson(`${url}/load`, {timeoutMs: probeTimeoutMs, maxBytes: 64 * 1024, agent: freshConnections, secret}));
			return reply.id === id;
		} catch {
			return false;
		}
	}

	// Reachability (a peer that joins, or is not reachable) and reports of dead peers are probed apart: a report after a peer died must not get the answer of a probe from before.
	const reachability = new Prober(answersAs, {now, minIntervalMs: 5000});
	const reports = new Prober(answersAs, {now, minIntervalMs: 2000});
	/** Probes a peer's URL (at most once per URL every few seconds) and records whether it answers; says when that changes. */
	function probeReachability(id: string, url: string): void {
		void reachability.check(id, url).then(({alive}) => {
			if (state.setReachable(id, url, alive)) {
				log(alive ? `peer ${id} at ${url} answers again` : `peer ${id} at ${url} does not answer as itself: not offered in Find`);
			}
		});
	}

	/** A Find reply is JSON already, cached per name: no per-request serialization. */
	function sendFound(response: ServerResponse, body: Buffer): void {
		response.writeHead(200, {'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length}).end(body);
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
		const found = state.findBody(name, now());
		if (found === undefined) {
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
		response.json({ok: true, epoch: state.epoch, peers: state.peerCount, files: state.fileCount} satisfies HealthReply);
	});

	// Every write needs the secret when one is set.
	const writes = requireSecret(secret);
	app.use((request, response, next) => {
		if (request.method === 'GET' || request.method === 'HEAD') {
			next();
		} else {
			writes(request, response, next);
		}
	});
	app.use(express.json({limit: bodyLimit}));

	app.put('/peers/:id', async (request, response) => {
		const id = parsePeerId(request.params.id);
		const body = parseUpdateListBody(request.body, {maxFilesPerPeer});
		try {
			const before = state.urlOf(id, now());
			response.json(state.updateList(id, body, now()));
			if (before !== body.url && probeOnJoin) {
				// A new peer, or one at a new URL: is it reachable there, as itself?
				probeReachability(id, body.url);
			}
		} catch (error) {
			if (!(error instanceof IdInUseError) || (await reports.check(id, error.url, {maxAgeMs: 0})).alive) {
				throw error;
			}

			// The old holder of this id is gone (a restart on a new port): the newcomer takes its place.
			state.leave(id);
			log(`peer ${id} moved from ${error.url} to ${body.url}`);
			response.json(state.updateList(id, body, now()));
			if (probeOnJoin) {
				probeReachability(id, body.url);
			}
		}
	});

	app.patch('/peers/:id/files', (request, response) => {
		const id = parsePeerId(request.params.id);
		response.json(state.updateFiles(id, parseListUpdateBody(request.body), now()));
	});

	app.post('/peers/:id/heartbeat', (request, response) => {
		const id = parsePeerId(request.params.id);
		const reply = state.heartbeat(id, now());
		const url = state.urlOf(id, now());
		if (reply.reachable === false && url) {
			// Asked again (rate-limited): a peer whose link came back is offered again.
			probeReachability(id, url);
		}

		response.json(reply);
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
		const url = state.urlOf(id, now());
		if (!url) {
			sendError(response, 'NOT_FOUND', `no peer "${id}"`);
			return;
		}

		// Reports about one holder share a probe, and an answer up to 2 s old: a flood of reports costs one request every 2 s.
		const check = await reports.check(id, url);
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
	 * The hot path: a Find that succeeds is answered before the Express router, which costs
	 * three to five times the rest of such a request (bench:tracker). Anything else (another
	 * route or method, a name to decode, refuse or not find, debug request logs) goes
	 * through the app, so every error and its log line come from one place.
	 */
	const fastFind = !logger?.isLevelEnabled('debug');
	const answerFind: RequestListener = (request, response) => {
		if (fastFind && request.method === 'GET' && request.url!.startsWith('/files/')) {
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

		app(request, response);
	};

	const server = await listen(answerFind, port, host);
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
