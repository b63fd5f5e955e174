/** An in-process peer server over a temp share dir, and raw HTTP requests whose paths are sent exactly as written. */
import http from 'node:http';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import type {ExecutionContext} from 'ava';
import {noFaults} from '../../source/serve/faults.js';
import {parseLatencyCsv} from '../../source/core/latency-table.js';
import {closeServer} from '../../source/common/listen.js';
import {LoadCounter} from '../../source/core/load-counter.js';
import {startPeerServer, type PeerServerContext} from '../../source/serve/peer-app.js';

export type RawReply = {status: number; headers: http.IncomingHttpHeaders; body: Buffer};

export async function rawRequest(base: string, requestPath: string, {method = 'GET', headers = {}, body}: {method?: string; headers?: Record<string, string>; body?: string | Buffer} = {}): Promise<RawReply> {
	const {hostname, port} = new URL(base);
	return new Promise((resolve, reject) => {
		const request = http.request({hostname, port, path: requestPath, method, headers, agent: false}, response => {
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.on('end', () => {
				resolve({status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks)});
			});
			response.on('error', reject);
		});
		request.on('error', reject);
		request.end(body);
	});
}

export async function tempDir(t: ExecutionContext, prefix = 'xfs-test-'): Promise<string> {
	const dir = await mkdtemp(path.join(tmpdir(), prefix));
	t.teardown(async () => rm(dir, {recursive: true, force: true}));
	return dir;
}

export async function startPeerApp(t: ExecutionContext, shareDir: string, overrides: Partial<PeerServerContext> = {}) {
	const load = new LoadCounter();
	const server = await startPeerServer({
		id: 'P',
		shareDir,
		latency: parseLatencyCsv('from,to,ms\nP,Q,100\n'),
		latencyScale: 0,
		load,
		faults: noFaults,
		...overrides,
	}, 0, '127.0.0.1');
	t.teardown(async () => closeServer(server));
	const {port} = server.address() as {port: number};
	return {url: `http://127.0.0.1:${port}`, load, server};
}
