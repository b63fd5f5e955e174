import test from 'ava';
import fc from 'fast-check';
import {checkRequest, createIdentity, identityFromPem, identityToPem, ReplayGuard, replayWindowMs, signRequest} from '../../../source/common/signing.js';

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

for (const [credential, options, needKey] of [['the MAC', {secret}, false], ['the key\'s signature', {identity}, true], ['both', {secret, identity}, true]] as const) {
	test(`a request signed with ${credential} passes as sent`, t => {
		fc.assert(fc.property(requestArbitrary, parts => {
			const headers = signRequest(parts, options);
			const check = checkRequest(headers, parts, {secret: 'secret' in options ? secret : undefined, needKey, now});
			return check.ok && check.key === ('identity' in options ? identity.publicKey : undefined);
		}));
		t.pass();
	});

	for (const [what, change] of tampered) {
		test(`a request signed with ${credential} is refused once its ${what} is changed`, t => {
			fc.assert(fc.property(requestArbitrary.chain(parts => fc.tuple(fc.constant(parts), change(parts))), ([parts, changed]) => {
				const headers = signRequest(parts, options);
				// The changed request goes with the original headers, except a changed timestamp, which the headers then carry.
				const sent = what === 'timestamp' ? {...headers, 'x-xfs-time': String(changed.time)} : headers;
				const check = checkRequest(sent, changed, {secret: 'secret' in options ? secret : undefined, needKey, now: what === 'timestamp' ? changed.time : now});
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
