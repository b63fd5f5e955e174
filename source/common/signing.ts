/**
 * Request signing: an HMAC-SHA256 keyed by the network's secret and an Ed25519 signature by the
 * peer's own key, both over method, path, a timestamp, a nonce and the body's digest; their
 * checks (constant time, a replay window with a bounded cache of signatures seen); and the
 * identity challenge a peer answers to prove that its URL is its own.
 */
import {createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, timingSafeEqual, verify, type KeyObject} from 'node:crypto';

/** The headers a signed request carries. */
export const signatureHeaders = {time: 'x-xfs-time', nonce: 'x-xfs-nonce', mac: 'x-xfs-mac', key: 'x-xfs-key', sig: 'x-xfs-sig'} as const;

/** A request older or newer than this (by its timestamp) is refused: clocks of the network agree within it. */
export const replayWindowMs = 60_000;

/** A peer's key pair; `publicKey` is the raw 32-byte Ed25519 key in base64url, as it goes on the wire. */
export type Identity = {publicKey: string; privateKey: KeyObject};

export type RequestParts = {method: string; path: string; body?: string | Uint8Array; time: number; nonce: string};

const emptyDigest = createHash('sha256').digest('hex');
const keyPattern = /^[\w-]{43}$/;
const sigPattern = /^[\w-]{86}$/;
const macPattern = /^[\da-f]{64}$/;
const noncePattern = /^[\da-f]{32}$/;
/** The DER prefix of an Ed25519 SubjectPublicKeyInfo: with the raw 32 bytes after it, a key node:crypto takes. */
const spkiPrefix = Buffer.from('302a300506032b6570032100', 'hex');

export function bodyDigest(body: string | Uint8Array | undefined): string {
	return body === undefined || body.length === 0 ? emptyDigest : createHash('sha256').update(body).digest('hex');
}

/** What is signed: one line per part, the body by its digest. */
export function canonicalRequest({method, path, body, time, nonce}: RequestParts): string {
	return `xfs-request-1\n${method.toUpperCase()}\n${path}\n${time}\n${nonce}\n${bodyDigest(body)}`;
}

export function createIdentity(): Identity {
	const {privateKey} = generateKeyPairSync('ed25519');
	return identityOf(privateKey);
}

export function identityOf(privateKey: KeyObject): Identity {
	const der = createPublicKey(privateKey).export({format: 'der', type: 'spki'});
	return {publicKey: der.subarray(spkiPrefix.length).toString('base64url'), privateKey};
}

export function identityFromPem(pem: string): Identity {
	const privateKey = createPrivateKey(pem);
	if (privateKey.asymmetricKeyType !== 'ed25519') {
		throw new Error(`expected an Ed25519 private key, got ${privateKey.asymmetricKeyType ?? 'another kind'}`);
	}

	return identityOf(privateKey);
}

export function identityToPem(identity: Identity): string {
	return identity.privateKey.export({format: 'pem', type: 'pkcs8'}).toString();
}

export function isPublicKey(value: unknown): value is string {
	return typeof value === 'string' && keyPattern.test(value);
}

/** A short form of a key for messages: its first 8 characters. */
export function keyFingerprint(key: string): string {
	return key.slice(0, 8);
}

const publicKeys = new Map<string, KeyObject>();
function publicKeyObject(key: string): KeyObject {
	let object = publicKeys.get(key);
	if (!object) {
		object = createPublicKey({key: Buffer.concat([spkiPrefix, Buffer.from(key, 'base64url')]), format: 'der', type: 'spki'});
		if (publicKeys.size >= 10_000) {
			publicKeys.delete(publicKeys.keys().next().value!);
		}

		publicKeys.set(key, object);
	}

	return object;
}

export function signText(identity: Identity, text: string): string {
	return sign(null, Buffer.from(text), identity.privateKey).toString('base64url');
}

/** Whether `signature` is `key`'s signature of `text`; false for anything malformed. */
export function verifyText(key: string, text: string, signature: unknown): boolean {
	if (!isPublicKey(key) || typeof signature !== 'string' || !sigPattern.test(signature)) {
		return false;
	}

	try {
		return verify(null, Buffer.from(text), publicKeyObject(key), Buffer.from(signature, 'base64url'));
	} catch {
		return false;
	}
}

function mac(secret: string, text: string): string {
	return createHmac('sha256', secret).update(text).digest('hex');
}

/** The headers that sign a request: a MAC with the secret, a signature with the identity, either or both. */
export function signRequest(request: Omit<RequestParts, 'time' | 'nonce'> & {time?: number; nonce?: string}, {secret, identity}: {secret?: string; identity?: Identity}): Record<string, string> {
	if (!secret && !identity) {
		return {};
	}

	const parts: RequestParts = {...request, time: request.time ?? Date.now(), nonce: request.nonce ?? randomBytes(16).toString('hex')};
	const text = canonicalRequest(parts);
	const headers: Record<string, string> = {[signatureHeaders.time]: String(parts.time), [signatureHeaders.nonce]: parts.nonce};
	if (secret) {
		headers[signatureHeaders.mac] = mac(secret, text);
	}

	if (identity) {
		headers[signatureHeaders.key] = identity.publicKey;
		headers[signatureHeaders.sig] = signText(identity, text);
	}

	return headers;
}

export type SignedHeaders = Record<string, string | string[] | undefined>;

export type SignatureCheck = {ok: true; key?: string; replayId: string} | {ok: false; reason: string};

function one(value: string | string[] | undefined): string | undefined {
	return typeof value === 'string' ? value : undefined;
}

/**
 * Checks a request's signatures: the timestamp within the replay window, the MAC when a secret
 * is set (compared in constant time), the Ed25519 signature when `needKey` or when a key is
 * given. Returns the signing key and an id to remember against replays, or why it fails.
 */
export function checkRequest(headers: SignedHeaders, request: Omit<RequestParts, 'time' | 'nonce'>, {secret, needKey, now}: {secret?: string; needKey: boolean; now: number}): SignatureCheck {
	const timeText = one(headers[signatureHeaders.time]);
	const nonce = one(headers[signatureHeaders.nonce]);
	const key = one(headers[signatureHeaders.key]);
	const signature = one(headers[signatureHeaders.sig]);
	const macText = one(headers[signatureHeaders.mac]);
	if (!secret && !needKey && key === undefined) {
		return {ok: true, replayId: ''};
	}

	if (timeText === undefined || nonce === undefined || !/^\d{1,16}$/.test(timeText) || !noncePattern.test(nonce)) {
		return {ok: false, reason: 'the request is not signed (no timestamp and nonce)'};
	}

	const time = Number(timeText);
	if (Math.abs(now - time) > replayWindowMs) {
		return {ok: false, reason: `the request's timestamp is ${Math.round((now - time) / 1000)} s off this clock (the window is ±${replayWindowMs / 1000} s)`};
	}

	const text = canonicalRequest({...request, time, nonce});
	if (secret) {
		if (macText === undefined || !macPattern.test(macText)) {
			return {ok: false, reason: 'this network needs the shared secret (--secret / XFS_SECRET)'};
		}

		if (!timingSafeEqual(Buffer.from(macText, 'hex'), Buffer.from(mac(secret, text), 'hex'))) {
			return {ok: false, reason: 'the request is not signed with this network\'s secret (--secret / XFS_SECRET)'};
		}
	}

	if (key === undefined && needKey) {
		return {ok: false, reason: 'the request is not signed by the peer\'s key'};
	}

	if (key !== undefined && !verifyText(key, text, signature)) {
		return {ok: false, reason: 'the request\'s signature does not match its key, method, path, time or body'};
	}

	return {ok: true, key, replayId: `${nonce}${signature ?? macText ?? ''}`};
}

/**
 * The signatures seen within the replay window: one seen again is a replay. Bounded: when full,
 * the oldest is forgotten (a replay of it is then caught only by its timestamp).
 */
export class ReplayGuard {
	readonly #seen = new Map<string, number>();
	readonly #capacity: number;

	constructor({capacity = 200_000}: {capacity?: number} = {}) {
		this.#capacity = capacity;
	}

	/** True the first time `id` is seen within the window; false for a replay. */
	admit(id: string, now: number): boolean {
		for (const [seen, at] of this.#seen) {
			if (now - at <= 2 * replayWindowMs && this.#seen.size < this.#capacity) {
				break;
			}

			this.#seen.delete(seen);
		}

		if (this.#seen.has(id)) {
			return false;
		}

		this.#seen.set(id, now);
		return true;
	}

	get size(): number {
		return this.#seen.size;
	}
}

/** The text a peer signs to answer an identity challenge. */
export function identityText(id: string, challenge: string): string {
	return `xfs-identity-1\n${id}\n${challenge}`;
}

export const challengePattern = /^[\da-f]{32,64}$/;
