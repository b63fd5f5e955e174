/**
 * prepareShare on a worker thread. The CLI starts the thread before anything else loads, so
 * the thread boots while the flags are parsed; once they are, it is given the share dir and
 * checks, scans and hashes it while the rest of the program loads on another core.
 *
 * Only node:worker_threads is loaded up front: everything else this module uses is imported
 * when it is needed, by which time the CLI has loaded it anyway.
 */
import {Worker} from 'node:worker_threads';
import type {PreparedShare} from './share-dir.js';

/**
 * What the thread posts back: the prepared share with its list as JSON text (one string crosses
 * threads faster than 10 000 objects, and goes to the tracker as it is), or the error prepareShare threw.
 */
type Reply = {prepared: Omit<PreparedShare, 'files'>; files: string} | {error: {usage: boolean; message: string; code?: string}};

const fromSource = import.meta.url.endsWith('.ts');
/** The thread's modules: beside this file in source/, all in dist/source/ once built (build.ts). */
const threadModules = fromSource
	? {share: './share-dir.ts', errors: '../common/errors.ts'}
	: {share: './share-dir.js', errors: './errors.js'};
const moduleUrl = (file: string) => new URL(file, import.meta.url).href;

/**
 * Plain JavaScript, so it runs the same from dist and from source (where it first registers tsx).
 * It loads what it needs, then waits for the share dir: nothing is read or written before that.
 */
const preparingThread = `
const {parentPort, workerData} = require('node:worker_threads');
(async () => {
	if (workerData.tsx) {
		(await import(workerData.tsx)).register();
	}

	const [{prepareShare}, {UsageError: UsageErrorClass}] = await Promise.all([import(workerData.module), import(workerData.errors)]);
	const dir = await new Promise(resolve => {
		parentPort.once('message', resolve);
	});
	try {
		const {files, ...prepared} = await prepareShare(dir);
		parentPort.postMessage({prepared, files: files.json});
	} catch (error) {
		parentPort.postMessage({error: {usage: error instanceof UsageErrorClass, message: error.message, code: error.code}});
	}
})();
`;

export type ShareThread = {
	/**
	 * The same result as prepareShare(dir), computed on the thread. Should the thread itself
	 * fail to start or load, the share dir is prepared here instead, and `onFallback` is told why.
	 */
	prepare(dir: string, options?: {onFallback?: (reason: string) => void}): Promise<PreparedShare>;
	/** Ends a thread that was never given a dir (bad flags, --help): it has touched nothing. */
	cancel(): void;
};

/** Starts the thread; it waits, having read nothing, until prepare() gives it the share dir. */
export function startShareThread(): ShareThread {
	const tsx = fromSource ? import.meta.resolve('tsx/esm/api') : undefined;
	let worker: Worker | undefined;
	let reply: Promise<Reply>;
	try {
		const thread = new Worker(preparingThread, {eval: true, workerData: {module: moduleUrl(threadModules.share), errors: moduleUrl(threadModules.errors), tsx}});
		worker = thread;
		reply = new Promise<Reply>((resolve, reject) => {
			thread.once('message', resolve);
			thread.once('error', reject);
			thread.once('exit', code => {
				reject(new Error(`the thread exited with code ${code}`));
			});
		});
	} catch (error) {
		reply = Promise.reject(error as Error);
	}

	// A thread that fails before prepare() is called is reported by prepare().
	reply.catch(() => {});
	return {
		async prepare(dir, {onFallback} = {}) {
			worker?.postMessage(dir);
			let answer: Reply | undefined;
			try {
				answer = await reply;
			} catch (error) {
				onFallback?.(error instanceof Error ? error.message : String(error));
			}

			if (answer === undefined) {
				const {prepareShare} = await import('./share-dir.js');
				return prepareShare(dir);
			}

			if ('prepared' in answer) {
				const {SharedList} = await import('./shared-list.js');
				return {...answer.prepared, files: SharedList.fromJson(answer.files)};
			}

			const {UsageError} = await import('../common/errors.js');
			const {usage, message, code} = answer.error;
			throw usage ? new UsageError(message) : Object.assign(new Error(message), {code});
		},
		cancel() {
			void worker?.terminate();
		},
	};
}

/** startShareThread().prepare(dir): a thread started for one share dir. */
export async function prepareShareInWorker(dir: string, options: {onFallback?: (reason: string) => void} = {}): Promise<PreparedShare> {
	return startShareThread().prepare(dir, options);
}
