/**
 * Request signing: an HMAC-SHA256 keyed by the network's secret and an Ed25519 signature by the
 * peer's own key, both over method, path, a timestamp, a nonce and the body's digest; their
 * checks (constant time, a replay window with a bounded cache of signatures seen); the identity
 * challenge a peer answers to prove that its URL is its own; and the session a registration
 * signed by the key sets up (an X25519 exchange, as in TLS 1.3 or Noise): the peer's later
 * requests carry an HMAC with the session's key instead of a signature, a fortieth of its cost.
 */
import {
	createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, sign, timingSafeEqual, verify, type KeyObject,
} from 'node:crypto';

/** The headers a signed request carries. */
export const signatureHeaders = {
	time: 'x-xfs-time', nonce: 'x-xfs-nonce', mac: 'x-xfs-mac', key: 'x-xfs-key', sig: 'x-xfs-sig',
	/** A session offer (the peer's X25519 public key), signed with the rest by the peer's key. */
	offer: 'x-xfs-session-offer',
	/** A session's id, and the request's HMAC with the session's key (in place of key and signature). */
	session: 'x-xfs-session',
	sessionMac: 'x-xfs-session-mac',
} as const;

/** A request older or newer than this (by its timestamp) is refused: clocks of the network agree within it. */
export const replayWindowMs = 60_000;

/** A peer's key pair; `publicKey` is the raw 32-byte Ed25519 key in base64url, as it goes on the wire. */
export type Identity = {publicKey: string; privateKey: KeyObject};

export type RequestParts = {method: string; path: string; body?: string | Uint8Array; time: number; nonce: string; offer?: string};

/** What a peer and the tracker share after a signed registration: the session's id and its HMAC key (never sent). */
export type Session = {id: string; macKey: Buffer};
/** The peer's half of a session exchange: its X25519 key pair, the public half sent as the offer. */
export type SessionOffer = {publicKey: string; privateKey: KeyObject};

const emptyDigest = createHash('sha256').digest('hex');
const keyPattern = /^[\w-]{43}$/;
const sigPattern = /^[\w-]{86}$/;
const macPattern = /^[\da-f]{64}$/;
const noncePattern = /^[\da-f]{32}$/;
const sessionIdPattern = /^[\da-f]{32}$/;
/** The DER prefix of an Ed25519 SubjectPublicKeyInfo: with the raw 32 bytes after it, a key node:crypto takes. */
const spkiPrefix = Buffer.from('302a300506032b6570032100', 'hex');

export function bodyDigest(body: string | Uint8Array | undefined): string {
	return body === undefined || body.length === 0 ? emptyDigest : createHash('sha256').update(body).digest('hex');
}

/** What is signed: one line per part, the body by its digest. */
export function canonicalRequest({method, path, body, time, nonce, offer}: RequestParts): string {
	const text = `xfs-request-1\n${method.toUpperCase()}\n${path}\n${time}\n${nonce}\n${bodyDigest(body)}`;
	return offer === undefined ? text : `${text}\n${offer}`;
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

/** The DER prefix of an X25519 SubjectPublicKeyInfo. */
const x25519Prefix = Buffer.from('302a300506032b656e032100', 'hex');

function rawPublicKey(privateKey: KeyObject, prefix: Buffer): string {
	return createPublicKey(privateKey).export({format: 'der', type: 'spki'}).subarray(prefix.length).toString('base64url');
}

/** The session's HMAC key, from the X25519 shared secret, bound to the session's id and the peer's machID. */
function sessionMacKey(privateKey: KeyObject, otherPublicKey: string, id: string, peerId: string): Buffer {
	const other = createPublicKey({key: Buffer.concat([x25519Prefix, Buffer.from(otherPublicKey, 'base64url')]), format: 'der', type: 'spki'});
	const shared = diffieHellman({privateKey, publicKey: other});
	return Buffer.from(hkdfSync('sha256', shared, Buffer.from(id, 'hex'), `xfs-session-1\n${peerId}`, 32));
}

/** A peer's offer of a session, sent with a registration signed by its key. */
export function createSessionOffer(): SessionOffer {
	const {privateKey} = generateKeyPairSync('x25519');
	return {publicKey: rawPublicKey(privateKey, x25519Prefix), privateKey};
}

export function isSessionOffer(value: unknown): value is string {
	return typeof value === 'string' && keyPattern.test(value);
}

export function isSessionId(value: unknown): value is string {
	return typeof value === 'string' && sessionIdPattern.test(value);
}

/** The tracker's side: a new session for peer `peerId`'s offer, and the public key to answer with. Throws on an offer that is not a key. */
export function acceptSessionOffer(offer: string, peerId: string): {session: Session; publicKey: string} {
	const {privateKey} = generateKeyPairSync('x25519');
	const id = randomBytes(16).toString('hex');
	return {session: {id, macKey: sessionMacKey(privateKey, offer, id, peerId)}, publicKey: rawPublicKey(privateKey, x25519Prefix)};
}

/** The peer's side: the session the tracker answered its offer with. */
export function completeSession(offer: SessionOffer, reply: {id: string; key: string}, peerId: string): Session {
	return {id: reply.id, macKey: sessionMacKey(offer.privateKey, reply.key, reply.id, peerId)};
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

function mac(secret: string | Buffer, text: string): string {
	return createHmac('sha256', secret).update(text).digest('hex');
}

/**
 * The headers that sign a request: a MAC with the secret, and the peer's word: the session's MAC
 * when there is a session, else a signature with the identity (which also signs an `offer`).
 */
export function signRequest(
	request: Omit<RequestParts, 'time' | 'nonce'> & {time?: number; nonce?: string},
	{secret, identity, session}: {secret?: string; identity?: Identity; session?: Session},
): Record<string, string> {
	if (!secret && !identity && !session) {
		return {};
	}

	const parts: RequestParts = {...request, time: request.time ?? Date.now(), nonce: request.nonce ?? randomBytes(16).toString('hex')};
	const text = canonicalRequest(parts);
	const headers: Record<string, string> = {[signatureHeaders.time]: String(parts.time), [signatureHeaders.nonce]: parts.nonce};
	if (parts.offer !== undefined) {
		headers[signatureHeaders.offer] = parts.offer;
	}

	if (secret) {
		headers[signatureHeaders.mac] = mac(secret, text);
	}

	if (session) {
		headers[signatureHeaders.session] = session.id;
		headers[signatureHeaders.sessionMac] = mac(session.macKey, text);
	} else if (identity) {
		headers[signatureHeaders.key] = identity.publicKey;
		headers[signatureHeaders.sig] = signText(identity, text);
	}

	return headers;
}

export type SignedHeaders = Record<string, string | string[] | undefined>;

/** `viaSession`: the peer's word was a session's MAC, not a signature by its key. `offer`: a session offer, signed by the key. */
export type SignatureCheck = {ok: true; key?: string; replayId: string; viaSession?: boolean; offer?: string} | {ok: false; reason: string};

/** A live session as the tracker holds it: its HMAC key and the peer key it speaks for. */
export type SessionLookup = (id: string) => {macKey: Buffer; key: string} | undefined;

function one(value: string | string[] | undefined): string | undefined {
	return typeof value === 'string' ? value : undefined;
}

/**
 * Checks a request's signatures: the timestamp within the replay window, the MAC when a secret
 * is set (compared in constant time), the Ed25519 signature when `needKey` or when a key is
 * given. Returns the signing key and an id to remember against replays, or why it fails.
 */
export function checkRequest(
	headers: SignedHeaders,
	request: Omit<RequestParts, 'time' | 'nonce' | 'offer'>,
	{secret, needKey, now, sessionOf}: {secret?: string; needKey: boolean; now: number; sessionOf?: SessionLookup},
): SignatureCheck {
	const timeText = one(headers[signatureHeaders.time]);
	const nonce = one(headers[signatureHeaders.nonce]);
	const key = one(headers[signatureHeaders.key]);
	const signature = one(headers[signatureHeaders.sig]);
	const macText = one(headers[signatureHeaders.mac]);
	const offer = one(headers[signatureHeaders.offer]);
	const sessionId = one(headers[signatureHeaders.session]);
	if (!secret && !needKey && key === undefined && sessionId === undefined) {
		return {ok: true, replayId: ''};
	}

	if (timeText === undefined || nonce === undefined || !/^\d{1,16}$/.test(timeText) || !noncePattern.test(nonce)) {
		return {ok: false, reason: 'the request is not signed (no timestamp and nonce)'};
	}

	const time = Number(timeText);
	if (Math.abs(now - time) > replayWindowMs) {
		return {ok: false, reason: `the request's timestamp is ${Math.round((now - time) / 1000)} s off this clock (the window is ±${replayWindowMs / 1000} s)`};
	}

	if (offer !== undefined && (!isSessionOffer(offer) || key === undefined || sessionId !== undefined)) {
		return {ok: false, reason: 'a session offer must be an X25519 key, in a request signed by the peer\'s key'};
	}

	const text = canonicalRequest({...request, time, nonce, offer});
	if (secret) {
		if (macText === undefined || !macPattern.test(macText)) {
			return {ok: false, reason: 'this network needs the shared secret (--secret / XFS_SECRET)'};
		}

		if (!timingSafeEqual(Buffer.from(macText, 'hex'), Buffer.from(mac(secret, text), 'hex'))) {
			return {ok: false, reason: 'the request is not signed with this network\'s secret (--secret / XFS_SECRET)'};
		}
	}

	if (sessionId !== undefined) {
		return checkSessionMac(sessionId, one(headers[signatureHeaders.sessionMac]), {text, nonce, sessionOf});
	}

	if (key === undefined && needKey) {
		return {ok: false, reason: 'the request is not signed by the peer\'s key'};
	}

	if (key !== undefined && !verifyText(key, text, signature)) {
		return {ok: false, reason: 'the request\'s signature does not match its key, method, path, time or body'};
	}

	return {ok: true, key, replayId: `${nonce}${signature ?? macText ?? ''}`, offer};
}

/** A request through a session: the session must be live and its MAC hold. */
function checkSessionMac(id: string, sessionMac: string | undefined, {text, nonce, sessionOf}: {text: string; nonce: string; sessionOf?: SessionLookup}): SignatureCheck {
	const session = isSessionId(id) && sessionOf ? sessionOf(id) : undefined;
	if (!session) {
		return {ok: false, reason: 'unknown session (this tracker restarted, or the peer expired): sign with the peer\'s key'};
	}

	if (sessionMac === undefined || !macPattern.test(sessionMac) || !timingSafeEqual(Buffer.from(sessionMac, 'hex'), Buffer.from(mac(session.macKey, text), 'hex'))) {
		return {ok: false, reason: 'the request\'s session MAC does not match its session, method, path, time or body'};
	}

	return {ok: true, key: session.key, replayId: `${nonce}${sessionMac}`, viaSession: true};
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
