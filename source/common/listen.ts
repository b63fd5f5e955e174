/** Starting and stopping HTTP servers. */
import {createServer, type RequestListener, type Server} from 'node:http';

export function listen(app: RequestListener, port: number, host: string): Promise<Server> {
	return new Promise((resolve, reject) => {
		const server = createServer(app).listen(port, host);
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
