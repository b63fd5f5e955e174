/** Starting and stopping HTTP servers. */
import {createServer, type RequestListener, type Server} from 'node:http';

/**
 * How often Node checks connections against headersTimeout and requestTimeout: its default (30 s)
 * let a client that trickles its headers stay up to 40 s against a 10 s headers timeout.
 */
export const connectionsCheckingIntervalMs = 1000;

export async function listen(app: RequestListener, port: number, host: string): Promise<Server> {
	return new Promise((resolve, reject) => {
		const server = createServer({connectionsCheckingInterval: connectionsCheckingIntervalMs}, app).listen(port, host);
		server.once('listening', () => {
			resolve(server);
		});
		server.once('error', reject);
	});
}

export async function closeServer(server: Server): Promise<void> {
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
