/** The peer's embedded Express server: GET /files/:name (emulated latency, Range, If-Range), GET /load, and the peer's own list (GET /files, GET /files/:name/info). */
import type {Server} from 'node:http';
import type {Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {setTimeout as sleep} from 'node:timers/promises';
import express from 'express';
import {requireSigned} from '../common/auth.js';
import {challengePattern, identityText, signText, type Identity} from '../common/signing.js';
import {jsonErrorHandler, notFoundRoute, sendError} from '../common/express-json.js';
import type {LatencyTable} from '../core/latency-table.js';
import {listen} from '../common/listen.js';
import {requestLog, type Logger} from '../common/log.js';
import type {LoadCounter} from '../core/load-counter.js';
import {defaultPartSize} from '../core/part-geometry.js';
import {openShared, type OpenShared} from '../share/share-dir.js';
import type {PartialFile} from '../share/partial-holdings.js';
import type {FileStamp} from '../core/settle.js';
import {UploadLimiter} from '../core/upload-limiter.js';
import {UploadSlots} from '../core/upload-slots.js';
import {SeedHints} from '../core/seed-hints.js';
import {
	isValidPeerId, parseFileName, parseReplicaRequestBody, requesterHeader, suggestHeader, type FileEntry, type IdentityReply, type LoadReply, type PeerFileInfo, type PeerFilesList, type ReplicaRequestBody,
} from '../common/wire.js';
import {countingStream, throttledStream} from './throttled-stream.js';
import {PartsCache, partsHandler} from './parts-endpoint.js';
import {faultyStream, type Faults} from './faults.js';
import {holdsSpan, openPartial, sendPartsMissing} from './partial-serving.js';

export type PeerServerContext = {
	id: string;
	/** Where the shared files are reached: a path, or a function giving it (undefined: serve nothing, the dir is withdrawn). */
	shareDir: string | (() => string | undefined);
	latency: LatencyTable;
	latencyScale: number;
	load: LoadCounter;
	faults: Faults;
	/** Part size of the md5 lists served at GET /files/:name/parts. */
	partSize?: number;
	/** --upload-limit: bytes/s shared by all uploads in progress; none when undefined. */
	uploadLimit?: number;
	/** Read buffer size of served files. */
	highWaterMark?: number;
	/**
	 * What this peer lists for a name (its size, and the stamp it was hashed at when known). With
	 * it, only listed files are served, and a file whose size or stamp differs is not (it changed
	 * since it was hashed): `onStale` is told, to hash it again and publish what it now is.
	 */
	listed?: (name: string) => {size: number; stamp?: FileStamp} | undefined;
	onStale?: (name: string) => void;
	/** This peer's own list, whole and by name: GET /files and GET /files/:name/info (a finder without a tracker asks them). */
	entries?: () => readonly FileEntry[];
	entry?: (name: string) => FileEntry | undefined;
	/** A downloader reports that a file's bytes did not match its md5: hash it again (rate-limited by the callee). */
	onMismatchReport?: (name: string) => boolean;
	/** Uploads served at once (--max-uploads); beyond them a request is 503 BUSY with Retry-After. */
	maxUploads?: number;
	/** An upload whose reader takes nothing for this long is ended (--upload-idle-ms). */
	uploadIdleMs?: number;
	random?: () => number;
	/** Swarm: a file this peer is still downloading by parts (served only from its verified parts); none with --no-swarm. */
	partial?: (name: string) => PartialFile | undefined;
	/** Swarm: resolves once a file downloading has more than `count` parts (or after timeoutMs). */
	waitForMore?: (name: string, count: number, timeoutMs: number, signal: AbortSignal) => Promise<void>;
	/** Shared secret whose MAC downloads must carry (GET /load and GET /identity stay open). */
	secret?: string;
	/** This peer's key pair, once loaded: GET /identity answers challenges with it. */
	identity?: () => Identity | undefined;
	log?: (message: string) => void;
	logger?: Logger;
	/** POST /replicas: a request to keep a pinned copy (see Replication in the README); 404 without it. */
	onReplicaRequest?: (body: ReplicaRequestBody) => Promise<{status: number; body: unknown}>;
};

/** Enough for several multi-source downloaders at once; each upload holds about 2 MiB of buffers. */
export const defaultMaxUploads = 32;
export const defaultUploadIdleMs = 20_000;

export function createPeerApp(context: PeerServerContext): express.Express {
	const {
		id, shareDir, latency, latencyScale, load, faults, uploadLimit, highWaterMark = 1024 * 1024, random = Math.random, secret, log = () => {}, logger,
		maxUploads = defaultMaxUploads, uploadIdleMs = defaultUploadIdleMs,
	} = context;
	const slots = new UploadSlots(maxUploads);
	const partSize = context.partSize ?? defaultPartSize;
	/** Swarm: super-seeding hints sent with each whole part of a file held whole (none with --no-swarm). */
	const hints = context.partial ? new SeedHints(random) : undefined;
	/** Bytes sent in file uploads since the start (GET /load says it: the swarm bench measures a seed with it). */
	let uploaded = 0;
	const dirNow = typeof shareDir === 'function' ? shareDir : () => shareDir;
	/** A shared file opened for serving, 'stale' when it is not what was listed (and is hashed again), or undefined. */
	const openListed = async (name: string): Promise<OpenShared | 'stale' | undefined> => {
		const dir = dirNow();
		const listing = context.listed?.(name);
		if (dir === undefined || (context.listed && !listing)) {
			return undefined;
		}

		const opened = await openShared(dir, name);
		if (!opened || !listing) {
			return opened;
		}

		const {stamp} = listing;
		if (opened.size !== listing.size || (stamp && (stamp.mtimeMs !== opened.mtimeMs || stamp.ino !== opened.ino))) {
			await opened.handle.close();
			context.onStale?.(name);
			return 'stale';
		}

		return opened;
	};

	const limiter = uploadLimit === undefined ? undefined : new UploadLimiter(uploadLimit, {now: performance.now(), burstBytes: Math.round(uploadLimit * 0.1)});
	const app = express();
	app.disable('x-powered-by');
	app.set('etag', false);
	if (logger) {
		app.use(requestLog(logger));
	}

	let mismatchSaid = false;
	app.use('/files', requireSigned({
		secret,
		needKey: false,
		onMismatch() {
			if (!mismatchSaid) {
				mismatchSaid = true;
				log('a downloader signs its requests with a --secret but this peer has none: a mismatch (this peer serves without checking)');
			}
		},
	}));

	// The tracker's challenge: whoever answers here holds this peer's key, so nobody can register this URL as theirs.
	app.get('/identity', (request, response) => {
		const {challenge} = request.query;
		if (typeof challenge !== 'string' || !challengePattern.test(challenge)) {
			sendError(response, 'BAD_INPUT', 'challenge: expected 32-64 hex digits');
			return;
		}

		const identity = context.identity?.();
		if (!identity) {
			response.set('Retry-After', '1');
			sendError(response, 'BUSY', `${id} has no key loaded yet`);
			return;
		}

		response.json({id, key: identity.publicKey, signature: signText(identity, identityText(id, challenge))} satisfies IdentityReply);
	});

	app.get('/load', (_request, response) => {
		response.json({id, load: load.load, uploaded} satisfies LoadReply);
	});

	app.get('/files', (_request, response) => {
		const files = context.entries?.() ?? [];
		response.json({id, files: files.map(({name, md5, size}) => ({name, md5, size}))} satisfies PeerFilesList);
	});

	app.get('/files/:name/info', (request, response) => {
		const name = parseFileName(request.params.name);
		const entry = context.entry?.(name);
		if (!entry) {
			sendError(response, 'NOT_FOUND', `no file "${name}" here`);
			return;
		}

		response.json({id, name, md5: entry.md5, size: entry.size, ...(entry.pinned === undefined ? {} : {pinned: entry.pinned})} satisfies PeerFileInfo);
	});

	app.get('/files/:name', async (request, response) => {
		// Who asks: its machID, or its address when it names none (a stranger).
		const asker = request.get(requesterHeader);
		const requesterKey = asker && isValidPeerId(asker) ? `id:${asker}` : `ip:${request.socket.remoteAddress ?? ''}`;
		if (!slots.take(requesterKey, Date.now())) {
			// Full: a cheap refusal, not a queue (a reader that never reads would hold its place); a slot that frees is kept for one who waited.
			response.set('Retry-After', '1');
			sendError(response, 'BUSY', `all ${maxUploads} upload slots of ${id} are taken; try again shortly`);
			return;
		}

		// Counted from the moment the request arrives: a downloader choosing a holder right now must see it.
		const release = load.startUpload();
		let closed = false;
		response.once('close', () => {
			closed = true;
			slots.release(requesterKey, Date.now());
			release();
		});

		const name = parseFileName(request.params.name);
		let opened = await openListed(name);
		const partial = opened ? undefined : context.partial?.(name);
		if (partial) {
			opened = await openPartial(partial);
		}

		if (!opened) {
			sendError(response, 'NOT_FOUND', `no file "${name}" here`);
			return;
		}

		if (opened === 'stale') {
			sendError(response, 'NOT_FOUND', `${name} changed since it was listed here; it is being hashed again`);
			return;
		}

		const {handle, size, mtimeMs} = opened;
		const lastModified = new Date(mtimeMs).toUTCString();
		const range = rangeToSend(request, size, lastModified);
		if (partial && (range === undefined || range === 'unsatisfiable' || !holdsSpan(partial, range))) {
			// A part never verified is never sent: only ranges inside verified parts.
			await handle.close();
			sendPartsMissing(response, partial, range === undefined || range === 'unsatisfiable' ? 'the whole file' : `bytes ${range.start}-${range.end}`);
			return;
		}

		if (range === 'unsatisfiable') {
			await handle.close();
			response.status(416).set('Content-Range', `bytes */${size}`)
				.json({error: {code: 'BAD_INPUT', message: `range not satisfiable for ${size} bytes`}});
			return;
		}

		const requester = request.get(requesterHeader);
		const delayMs = latency.between(id, requester && isValidPeerId(requester) ? requester : '') * latencyScale;
		let source: Readable | undefined;
		try {
			if (delayMs > 0) {
				await sleep(delayMs);
			}

			if (closed) {
				return;
			}

			const start = range?.start ?? 0;
			const end = range?.end ?? size - 1;
			response.status(range ? 206 : 200);
			response.set({
				'Content-Type': 'application/octet-stream',
				'Content-Length': String(Math.max(0, end - start + 1)),
				'Accept-Ranges': 'bytes',
				'Last-Modified': lastModified,
			});
			if (range) {
				response.set('Content-Range', `bytes ${start}-${end}/${size}`);
			}

			// Swarm, a file held whole: one whole part sent comes with the parts sent least so far, to ask for next.
			const parts = Math.ceil(size / partSize);
			if (hints && !partial && range && start % partSize === 0 && end + 1 === Math.min(size, start + partSize) && parts > 1) {
				response.set(suggestHeader, hints.sent(`${name}\0${size}\0${mtimeMs}`, parts, requesterKey, start / partSize).join(','));
			}

			if (size === 0) {
				response.end();
				return;
			}

			// A reader that takes nothing for uploadIdleMs gives its slot back (its socket is closed).
			const {socket} = request;
			const onIdle = () => {
				socket.destroy();
			};

			socket.setTimeout(uploadIdleMs);
			socket.once('timeout', onIdle);
			// Afterwards the server's own keep-alive timeout applies to the socket again.
			response.once('close', () => {
				socket.off('timeout', onIdle);
			});
			source = handle.createReadStream({start, end, highWaterMark, autoClose: false});
			const corrupt = faults.corrupt > 0 && random() < faults.corrupt;
			const stages: NodeJS.ReadWriteStream[] = [];
			if (corrupt || faults.stallAfter !== undefined) {
				stages.push(faultyStream({corrupt, stallAfter: faults.stallAfter}));
			}

			if (limiter) {
				stages.push(throttledStream(limiter));
			}

			stages.push(countingStream(bytes => {
				uploaded += bytes;
			}));

			await pipeline([source, ...stages, response]);
		} catch (error) {
			// A receiver that goes away mid-transfer is normal; anything else is worth a line.
			if ((error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
				log(`upload of ${name} failed: ${(error as Error).message}`);
			}

			response.destroy();
		} finally {
			source?.destroy();
			await handle.close().catch(() => {});
		}
	});

	app.post('/files/:name/verify', (request, response) => {
		const name = parseFileName(request.params.name);
		const queued = context.onMismatchReport?.(name) ?? false;
		response.status(202).json({name, queued});
	});

	const {onReplicaRequest} = context;
	if (onReplicaRequest) {
		app.post('/replicas', requireSigned({secret, needKey: false}), express.json({limit: 4096}), async (request, response) => {
			const {status, body} = await onReplicaRequest(parseReplicaRequestBody(request.body));
			response.status(status).json(body);
		});
	}

	app.get('/files/:name/parts', partsHandler({open: openListed, partial: context.partial, waitForMore: context.waitForMore, partSize, cache: new PartsCache()}));

	app.use(notFoundRoute);
	app.use(jsonErrorHandler(error => {
		log(`unexpected error: ${error instanceof Error ? error.stack : String(error)}`);
	}));
	return app;
}

/** One suffix range: longer than the file it means the whole file (RFC 9110 §14.1.2), which range-parser 1.x finds unsatisfiable (jshttp/range-parser#66; 2.x needs Node 22). */
const suffixRange = /^bytes=\s*-\s*0*[1-9]\d*\s*$/;

/** An If-Range value that is not an entity tag (those start with a quote or W/). */
const isHttpDate = (value: string) => !/^\s*(?:W\/)?"/.test(value) && Number.isFinite(Date.parse(value));

/**
 * The one byte range to send (range-parser, through req.range), 'unsatisfiable' for a 416, or
 * undefined for the whole file: no Range, one we do not serve (malformed, not bytes, several
 * ranges, as RFC 9110 allows), or an If-Range that does not match. No ETag is sent, so an
 * entity tag never matches; a date matches when it is the file's Last-Modified (RFC 9110 §13.1.5).
 */
function rangeToSend(request: express.Request, size: number, lastModified: string): {start: number; end: number} | 'unsatisfiable' | undefined {
	const ifRange = request.get('if-range');
	if (ifRange !== undefined && !(isHttpDate(ifRange) && Date.parse(ifRange) === Date.parse(lastModified))) {
		return undefined;
	}

	const ranges = request.range(size);
	if (ranges === -1) {
		return size > 0 && suffixRange.test(request.get('range')!) ? {start: 0, end: size - 1} : 'unsatisfiable';
	}

	if (ranges === undefined || ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) {
		return undefined;
	}

	return ranges[0];
}

export async function startPeerServer(context: PeerServerContext, port: number, host: string): Promise<Server> {
	const server = await listen(createPeerApp(context), port, host);
	server.headersTimeout = 10_000;
	// Downloads of large files at a low upload limit take long: no overall request timeout, idle sockets are closed instead.
	server.requestTimeout = 0;
	server.keepAliveTimeout = 5000;
	return server;
}
