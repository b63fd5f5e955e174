/** Starting and stopping HTTP servers. */
import type {Server} from 'node:http';
import type express from 'express';

export function listen(app: express.Express, port: number, host: string): Promise<Server> {
	return new Promise((resolve, reject) => {
		const server = app.listen(port, host);
		server.once('listening', () => {
			resolve(server);
		});
		server.once('error', reject);
	});
}

export function closeServer(server: Server): Promise<void> {
	return new Promise(resolve => {
		server.close(() => {
			resolve();
		});
		server.closeAllConnections();
	});
}

export function formatHost(host: string): string {
	return host.includes(':') ? `[${host}]` : host;
}
