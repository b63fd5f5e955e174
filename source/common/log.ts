/** Structured logs (pino, JSON lines on stderr) for the tracker and headless peers, and request ids for both servers. */
import type {RequestHandler} from 'express';
import {pino, type Logger} from 'pino';
import type {LogLevel} from './log-levels.js';

export {type LogLevel, logLevels} from './log-levels.js';

export function createLogger(name: string, level: LogLevel): Logger {
	// The secret and credentials never reach a log line, whatever a caller passes.
	return pino({name, level, base: {name}, redact: {paths: ['secret', '*.secret', 'authorization', '*.authorization', 'headers.authorization'], censor: '[redacted]'}}, pino.destination({fd: 2, sync: true}));
}

/** Request ids, unique per process: a random prefix and a counter. */
export function requestIds(): () => string {
	let counter = 0;
	const prefix = Math.random().toString(36).slice(2, 8);
	return () => `${prefix}-${(++counter).toString(36)}`;
}

/** Gives every request an id (X-Request-Id) and logs failed requests with it; successful ones at debug. */
export function requestLog(logger: Logger, nextId = requestIds()): RequestHandler {
	return (request, response, next) => {
		const id = nextId();
		response.setHeader('X-Request-Id', id);
		response.once('finish', () => {
			const {statusCode} = response;
			if (statusCode >= 500) {
				logger.error({reqId: id, method: request.method, url: request.originalUrl.slice(0, 300), status: statusCode}, 'request failed');
			} else if (statusCode >= 400) {
				logger.warn({reqId: id, method: request.method, url: request.originalUrl.slice(0, 300), status: statusCode}, 'request refused');
			} else if (logger.isLevelEnabled('debug')) {
				logger.debug({reqId: id, method: request.method, url: request.originalUrl.slice(0, 300), status: statusCode}, 'request');
			}
		});
		next();
	};
}

export type {Logger} from 'pino';
