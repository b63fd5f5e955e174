/** Signed raw requests for tests: as a peer with its key pair (and the network's secret) would send them. */
import {readFile} from 'node:fs/promises';
import {createIdentity, identityFromPem, signRequest, type Identity, type Session} from '../../source/common/signing.js';
import {identityPath} from '../../source/share/identity-file.js';
import {rawRequest, type RawReply} from './peer-app.js';

/** The key pair a peer process created in its share dir. */
export async function identityOfShare(shareDir: string): Promise<Identity> {
	return identityFromPem(await readFile(identityPath(shareDir), 'utf8'));
}

/** One key pair per name, made on first use: the keys of the test's pretend peers. */
export function keyRing(): (name: string) => Identity {
	const keys = new Map<string, Identity>();
	return name => {
		let identity = keys.get(name);
		if (!identity) {
			identity = createIdentity();
			keys.set(name, identity);
		}

		return identity;
	};
}

export type SignedCall = {method?: string; body?: string; identity?: Identity; secret?: string; session?: Session; offer?: string; headers?: Record<string, string>};

export async function signedRequest(base: string, requestPath: string, {method = 'GET', body, identity, secret, session, offer, headers = {}}: SignedCall = {}): Promise<RawReply> {
	const signature = signRequest({method, path: requestPath, body, offer}, {identity, secret, session});
	return rawRequest(base, requestPath, {method, body, headers: {...(body === undefined ? {} : {'content-type': 'application/json'}), ...signature, ...headers}});
}
