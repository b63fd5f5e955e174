/**
 * The reference for the tracker bench: a bare Express 5 app whose GET /files/:name answers
 * a fixed Find-shaped reply with res.json, and whose PUT /peers/:id parses a JSON body and
 * answers an UpdateList-shaped reply, no state behind either. Prints its URL, serves until SIGTERM.
 *
 *   tsx bench/bare-express.ts <holders per reply>
 */
import type {AddressInfo} from 'node:net';
import express from 'express';
import {findHolder} from './tracker-data.js';

const holders = Number(process.argv[2] ?? '10');
const reply = {
	name: 'f0',
	md5: '0123456789abcdef0123456789abcdef',
	size: 123_456,
	peers: Array.from({length: holders}, (_, index) => findHolder(index)),
};

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.get('/files/:name', (_request, response) => {
	response.json(reply);
});
// The reference for an UpdateList: the same body parsed, a reply of the same shape.
app.put('/peers/:id', express.json({limit: '16mb'}), (_request, response) => {
	response.json({epoch: 'bare', ttlMs: 15_000, version: 0});
});
const server = app.listen(0, '127.0.0.1', () => {
	process.stdout.write(`bare listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => {
	server.closeAllConnections();
	server.close(() => process.exit(0));
});
