/**
 * The reference for the tracker bench: a bare Express 5 app whose GET /files/:name answers
 * a fixed Find-shaped reply with res.json, no state behind it. Prints its URL, serves until SIGTERM.
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
const server = app.listen(0, '127.0.0.1', () => {
	process.stdout.write(`bare listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => {
	server.closeAllConnections();
	server.close(() => process.exit(0));
});
