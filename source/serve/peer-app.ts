/** The peer's embedded Express server: GET /files/:name (emulated latency, Range) and GET /load. */
import type {Server} from 'node:http';
import type {Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {setTimeout as sleep} from 'node:timers/promises';
import express from 'express';
import {parseRange} from '../core/byte-range.js';
import {requireSecret} from '../common/auth.js';
import {jsonErrorHandler, notFoundRoute, sendError} from '../common/express-json.js';
import type {LatencyTable} from '../core/latency-table.js';
import {listen} from '../common/listen.js';
import {requestLog, type Logger} from '../common/log.js';
import type {LoadCounter} from '../core/load-counter.js';
import {defaultPartSize} from '../core/part-geometry.js';
import {openShared} from '../share/share-dir.js';
import {UploadLimiter} from '../core/upload-limiter.js';
import {isValidPeerId, parseFileName, requesterHeader, type LoadReply} from '../common/wire.js';
import {throttledStream} from './throttled-stream.js';
import {PartsCache, partsHandler} from './parts-endpoint.js';
import {faultyStream, type Faults} from './faults.js';

export type PeerServerContext = {
	id: string;
	shareDir: string;
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
	random?: () => number;
	/** Shared secret that downloads must carry (GET /load stays open). */
	secret?: string;
	log?: (message: string) => void;
	logger?: Logger;
};

export function createPeerApp(context: PeerServerContext): express.Express {
	const {id, shareDir, latency, latencyScale, load, faults, uploadLimit, highWaterMark = 1024 * 1024, random = Math.random, secret, log = () => {}, logger} = context;
	const limiter = uploadLimit === undefined ? undefined : new UploadLimiter(uploadLimit, {now: performance.now()});
	const app = express();
	app.disable('x-powered-by');
	app.set('etag', false);
	if (logger) {
		app.use(requestLog(logger));
	}

	app.use('/files', requireSecret(secret));

	app.get('/load', (_request, response) => {
		response.json({id, load: load.load} satisfies LoadReply);
	});

	app.get('/files/:name', async (request, response) => {
		// Counted from the moment the request arrives: a downloader choosing a holder right now must see it.
		const release = load.startUpload();
		let closed = false;
		response.once('close', () => {
			closed = true;
			release();
		});

		const name = parseFileName(request.params.name);
		const opened = await openShared(shareDir, name);
		if (!opened) {
			sendError(response, 'NOT_FOUND', `no file "${name}" here`);
			return;
		}

		const {handle, size} = opened;
		const range = parseRange(request.get('range'), size);
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
			});
			if (range) {
				response.set('Content-Range', `bytes ${start}-${end}/${size}`);
			}

			if (size === 0) {
				response.end();
				return;
			}

			source = handle.createReadStream({start, end, highWaterMark, autoClose: false});
			const corrupt = faults.corrupt > 0 && random() < faults.corrupt;
			const stages: NodeJS.ReadWriteStream[] = [];
			if (corrupt || faults.stallAfter !== undefined) {
				stages.push(faultyStream({corrupt, stallAfter: faults.stallAfter}));
			}

			if (limiter) {
				stages.push(throttledStream(limiter));
			}

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

	app.get('/files/:name/parts', partsHandler({shareDir, partSize: context.partSize ?? defaultPartSize, cache: new PartsCache()}));

	app.use(notFoundRoute);
	app.use(jsonErrorHandler(error => {
		log(`unexpected error: ${error instanceof Error ? error.stack : String(error)}`);
	}));
	return app;
}

export async function startPeerServer(context: PeerServerContext, port: number, host: string): Promise<Server> {
	const server = await listen(createPeerApp(context), port, host);
	server.headersTimeout = 10_000;
	// Downloads of large files at a low upload limit take long: no overall request timeout, idle sockets are closed instead.
	server.requestTimeout = 0;
	server.keepAliveTimeout = 5000;
	return server;
}
