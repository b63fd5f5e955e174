import test from 'ava';
import fc from 'fast-check';
import {
	acceptSessionOffer, checkRequest, completeSession, createIdentity, createSessionOffer, identityFromPem, identityToPem, ReplayGuard, replayWindowMs, signRequest,
} from '../../../source/common/signing.js';

const identity = createIdentity();
const stranger = createIdentity();
const secret = 'a secret';
const now = 1_800_000_000_000;

const requestArbitrary = fc.record({
	method: fc.constantFrom('GET', 'PUT', 'POST', 'PATCH', 'DELETE'),
	path: fc.webPath().map(path => `/${path.replace(/^\/+/, '')}`),
	body: fc.option(fc.string({maxLength: 200}), {nil: undefined}),
	time: fc.integer({min: now - replayWindowMs, max: now + replayWindowMs}),
});

type Parts = {method: string; path: string; body?: string; time: number};
const tampered: Array<[string, (parts: Parts) => fc.Arbitrary<Parts>]> = [
	['method', parts => fc.constantFrom('GET', 'PUT', 'POST', 'PATCH', 'DELETE', 'get').filter(method => method.toUpperCase() !== parts.method).map(method => ({...parts, method}))],
	['path', parts => fc.string({minLength: 1, maxLength: 20}).map(tail => ({...parts, path: `${parts.path}${tail}`}))],
	['body', parts => fc.string({maxLength: 200}).filter(body => body !== (parts.body ?? '')).map(body => ({...parts, body}))],
	['timestamp', parts => fc.integer({min: -replayWindowMs, max: replayWindowMs}).filter(delta => delta !== 0).map(delta => ({...parts, time: parts.time + delta}))],
];

// A session set up by a registration signed by the key: both sides derive the same HMAC key, which never goes on the wire.
const offer = createSessionOffer();
const accepted = acceptSessionOffer(offer.publicKey, 'A');
const session = completeSession(offer, {id: accepted.session.id, key: accepted.publicKey}, 'A');
const sessionOf = (id: string) => (id === accepted.session.id ? {macKey: accepted.session.macKey, key: identity.publicKey} : undefined);

for (const [credential, options, needKey] of [
	['the MAC', {secret}, false], ['the key\'s signature', {identity}, true], ['both', {secret, identity}, true], ['a session\'s MAC', {session}, true], ['a session\'s MAC and the secret\'s', {session, secret}, true],
] as const) {
	test(`a request signed with ${credential} passes as sent`, t => {
		fc.assert(fc.property(requestArbitrary, parts => {
			const headers = signRequest(parts, options);
			const check = checkRequest(headers, parts, {secret: 'secret' in options ? secret : undefined, needKey, now, sessionOf});
			return check.ok && check.key === ('identity' in options || 'session' in options ? identity.publicKey : undefined);
		}));
		t.pass();
	});

	for (const [what, change] of tampered) {
		test(`a request signed with ${credential} is refused once its ${what} is changed`, t => {
			fc.assert(fc.property(requestArbitrary.chain(parts => fc.tuple(fc.constant(parts), change(parts))), ([parts, changed]) => {
				const headers = signRequest(parts, options);
				// The changed request goes with the original headers, except a changed timestamp, which the headers then carry.
				const sent = what === 'timestamp' ? {...headers, 'x-xfs-time': String(changed.time)} : headers;
				const check = checkRequest(sent, changed, {secret: 'secret' in options ? secret : undefined, needKey, now: what === 'timestamp' ? changed.time : now, sessionOf});
				return !check.ok;
			}));
			t.pass();
		});
	}
}

test('a MAC by another secret, a signature by another key, and an unsigned request are refused', t => {
	const parts = {method: 'PUT', path: '/peers/A', body: '{}', time: now};
	t.false(checkRequest(signRequest(parts, {secret: 'other'}), parts, {secret, needKey: false, now}).ok);
	const forged = {...signRequest(parts, {identity: stranger}), 'x-xfs-key': identity.publicKey};
	t.false(checkRequest(forged, parts, {needKey: true, now}).ok);
	t.deepEqual(checkRequest({}, parts, {needKey: true, now}), {ok: false, reason: 'the request is not signed (no timestamp and nonce)'});
	t.deepEqual(checkRequest({}, parts, {needKey: false, now}), {ok: true, replayId: ''});
	t.false(checkRequest(signRequest({...parts, time: now - replayWindowMs - 1}, {secret}), parts, {secret, needKey: false, now}).ok);
});

test('the replay guard admits a signature once, and forgets the oldest when full', t => {
	const guard = new ReplayGuard({capacity: 2});
	t.true(guard.admit('a', now));
	t.false(guard.admit('a', now + 1));
	t.true(guard.admit('b', now));
	t.true(guard.admit('c', now));
	t.is(guard.size, 2);
	t.true(guard.admit('a', now + 2));
	// Past twice the window a signature is refused by its timestamp anyway: forgotten.
	const aged = new ReplayGuard();
	aged.admit('x', now);
	aged.admit('y', now + (3 * replayWindowMs));
	t.is(aged.size, 1);
});

test('a key pair survives its PEM form', t => {
	t.is(identityFromPem(identityToPem(identity)).publicKey, identity.publicKey);
	t.is(identity.publicKey.length, 43);
});

test('a session: both sides derive one key; another peer id, an unknown or forged session, and an offer without the key\'s signature are refused', t => {
	t.deepEqual(session.macKey, accepted.session.macKey);
	t.notDeepEqual(completeSession(offer, {id: accepted.session.id, key: accepted.publicKey}, 'B').macKey, accepted.session.macKey);
	const parts = {method: 'POST', path: '/peers/A/heartbeat', time: now};
	t.true(checkRequest(signRequest(parts, {session}), parts, {needKey: true, now, sessionOf}).ok);
	// Without the tracker's sessions, or one it does not know: refused, saying so.
	t.false(checkRequest(signRequest(parts, {session}), parts, {needKey: true, now}).ok);
	t.regex((checkRequest(signRequest(parts, {session: {id: 'f'.repeat(32), macKey: session.macKey}}), parts, {needKey: true, now, sessionOf}) as {reason: string}).reason, /unknown session/);
	// A stranger who saw the session's id on the wire but not its key.
	t.false(checkRequest(signRequest(parts, {session: {id: session.id, macKey: Buffer.alloc(32)}}), parts, {needKey: true, now, sessionOf}).ok);
	// An offer rides only on a request signed by the key, which covers it.
	const offered = {...parts, offer: createSessionOffer().publicKey};
	const signed = signRequest(offered, {identity});
	t.like(checkRequest(signed, parts, {needKey: true, now}), {ok: true, offer: offered.offer});
	t.false(checkRequest({...signed, 'x-xfs-session-offer': createSessionOffer().publicKey}, parts, {needKey: true, now}).ok);
	t.false(checkRequest(signRequest(offered, {session}), parts, {needKey: true, now, sessionOf}).ok);
	t.false(checkRequest(signRequest(offered, {secret}), parts, {secret, needKey: false, now}).ok);
});
