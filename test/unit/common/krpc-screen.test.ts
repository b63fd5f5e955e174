import test from 'ava';
import fc from 'fast-check';
import bencode from 'bencode';
import {screenKrpc, SenderRate} from '../../../source/common/krpc-screen.js';
import {nameKey, parseBootstrap} from '../../../source/common/dht-keys.js';

const id = new Uint8Array(20).fill(7);
const bytes = (text: string) => new TextEncoder().encode(text);
const query = (q: string, a: Record<string, unknown>) => ({t: bytes('aa'), y: bytes('q'), q: bytes(q), a: {id, ...a}});

test('the queries and replies a DHT node sends pass', t => {
	t.is(screenKrpc(query('ping', {})), undefined);
	t.is(screenKrpc(query('find_node', {target: id})), undefined);
	t.is(screenKrpc(query('get_peers', {info_hash: id})), undefined);
	t.is(screenKrpc(query('announce_peer', {info_hash: id, token: bytes('tok'), port: 8080})), undefined);
	t.is(screenKrpc(query('announce_peer', {info_hash: id, token: bytes('tok'), implied_port: 1})), undefined);
	t.is(screenKrpc({t: bytes('ab'), y: bytes('r'), r: {id, nodes: new Uint8Array(26 * 8), token: bytes('x'), values: [new Uint8Array(6)]}}), undefined);
	t.is(screenKrpc({t: bytes('ab'), y: bytes('e'), e: [201, bytes('generic')]}), undefined);
});

test('what the engine would trip over, or xfs does not use, is dropped with the reason', t => {
	t.is(screenKrpc(5), 'not a dictionary');
	t.is(screenKrpc(bytes('x')), 'not a dictionary');
	t.is(screenKrpc({y: bytes('q')}), 'bad transaction id');
	t.is(screenKrpc({...query('ping', {}), y: bytes('z')}), 'bad message type');
	t.is(screenKrpc(query('put', {v: bytes('x')})), 'unknown query');
	t.is(screenKrpc(query('get', {target: id})), 'unknown query');
	t.is(screenKrpc({...query('ping', {}), a: {id: 5}}), 'bad query arguments');
	t.is(screenKrpc(query('find_node', {target: 3})), 'bad target');
	t.is(screenKrpc(query('get_peers', {info_hash: new Uint8Array(19)})), 'bad info_hash');
	t.is(screenKrpc(query('announce_peer', {info_hash: id, token: 1, port: 80})), 'bad announce');
	t.is(screenKrpc(query('announce_peer', {info_hash: id, token: bytes('t'), port: 70_000})), 'bad port');
	t.is(screenKrpc({t: bytes('ab'), y: bytes('r'), r: {id: bytes('short')}}), 'bad reply');
	t.is(screenKrpc({t: bytes('abc'), y: bytes('r'), r: {id}}), 'bad transaction id');
	t.is(screenKrpc({t: bytes('ab'), y: bytes('r'), r: {id, nodes: new Uint8Array(27)}}), 'bad nodes');
	t.is(screenKrpc({t: bytes('ab'), y: bytes('r'), r: {id, values: [5]}}), 'bad values');
	t.is(screenKrpc({t: bytes('ab'), y: bytes('r'), r: {id, v: bytes('x')}}), 'unexpected value');
});

test('any bencoded value either passes the screen or is dropped, never throws', t => {
	const {value} = fc.letrec<{value: unknown}>(tie => ({
		value: fc.oneof({depthSize: 'small'}, fc.integer(), fc.uint8Array({maxLength: 30}), fc.array(tie('value'), {maxLength: 4}), fc.dictionary(fc.constantFrom('t', 'y', 'q', 'a', 'r', 'e', 'id', 'target', 'info_hash', 'token', 'port', 'nodes', 'values'), tie('value'), {maxKeys: 6})),
	}));
	fc.assert(fc.property(value, decoded => {
		const reason = screenKrpc(bencode.decode(bencode.encode(decoded)));
		t.true(reason === undefined || typeof reason === 'string');
	}), {numRuns: 2000});
});

test('a sender over its rate is refused while others go on; the map of senders stays bounded', t => {
	const rate = new SenderRate({perSecond: 10, burst: 3, maxSenders: 2});
	t.deepEqual([1, 2, 3, 4].map(() => rate.allow('a', 0)), [true, true, true, false]);
	t.true(rate.allow('b', 0));
	t.true(rate.allow('a', 100), 'one token back after 100 ms at 10/s');
	t.false(rate.allow('a', 100));
	t.true(rate.allow('c', 100));
	t.is(rate.senders, 2);
});

test('--bootstrap takes host:port lists and names what is wrong; names are keyed as sha1("xfs:" + name)', t => {
	t.deepEqual(parseBootstrap('127.0.0.1:6881, node.example:7000'), ['127.0.0.1:6881', 'node.example:7000']);
	t.is(parseBootstrap('127.0.0.1'), '"127.0.0.1" is not host:port');
	t.is(parseBootstrap('h:0'), '"h:0" is not host:port');
	t.is(parseBootstrap(','), 'expected host:port[,host:port...]');
	// `printf xfs:song.mp3 | sha1sum`
	t.is(nameKey('song.mp3').toString('hex'), 'e1d66b31c7b8e38b4b58c9cc3850c4e791e1c7d9');
});
