/**
 * prepareShare on a worker thread: the CLI starts it first, so checking, scanning and
 * hashing the share dir overlap with loading the rest of the program on another core.
 */
import {Worker} from 'node:worker_threads';
import {UsageError} from './errors.js';
import {prepareShare, type PreparedShare} from './share-dir.js';
import {SharedList} from './shared-list.js';

/**
 * What the thread posts back: the prepared share with its list as JSON text (one string crosses
 * threads faster than 10 000 objects, and goes to the tracker as it is), or the error prepareShare threw.
 */
type Reply = {prepared: Omit<PreparedShare, 'files'>; files: string} | {error: {usage: boolean; message: string; code?: string}};

const fromSource = import.meta.url.endsWith('.ts');
const moduleUrl = (name: string) => new URL(`./${name}${fromSource ? '.ts' : '.js'}`, import.meta.url).href;

/** Plain JavaScript, so it runs the same from dist and from source (where it first registers tsx). */
const preparingThread = `
const {parentPort, workerData} = require('node:worker_threads');
(async () => {
	if (workerData.tsx) {
		(await import(workerData.tsx)).register();
	}

	const {prepareShare} = await import(workerData.module);
	const {UsageError: UsageErrorClass} = await import(workerData.errors);
	try {
		const {files, ...prepared} = await prepareShare(workerData.dir);
		parentPort.postMessage({prepared, files: files.json});
	} catch (error) {
		parentPort.postMessage({error: {usage: error instanceof UsageErrorClass, message: error.message, code: error.code}});
	}
})();
`;

/**
 * The same result as prepareShare(dir), computed on a worker thread. Should the thread itself
 * fail to start or load, the share dir is prepared here instead, and `onFallback` is told why.
 */
export async function prepareShareInWorker(dir: string, {onFallback}: {onFallback?: (reason: string) => void} = {}): Promise<PreparedShare> {
	let reply: Reply | undefined;
	try {
		reply = await new Promise<Reply>((resolve, reject) => {
			const tsx = fromSource ? import.meta.resolve('tsx/esm/api') : undefined;
			const worker = new Worker(preparingThread, {eval: true, workerData: {dir, module: moduleUrl('share-dir'), errors: moduleUrl('errors'), tsx}});
			worker.once('message', resolve);
			worker.once('error', reject);
			worker.once('exit', code => {
				reject(new Error(`the thread exited with code ${code}`));
			});
		});
	} catch (error) {
		onFallback?.(error instanceof Error ? error.message : String(error));
	}

	if (reply === undefined) {
		return prepareShare(dir);
	}

	if ('prepared' in reply) {
		return {...reply.prepared, files: SharedList.fromJson(reply.files)};
	}

	const {usage, message, code} = reply.error;
	throw usage ? new UsageError(message) : Object.assign(new Error(message), {code});
}
