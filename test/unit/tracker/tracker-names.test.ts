import test from 'ava';
import {signNameRecord} from '../../../source/common/names.js';
import {createIdentity} from '../../../source/common/signing.js';
import {type NameConflict, TrackerState} from '../../../tracker/tracker-state.js';

const owner = createIdentity();
const evil = createIdentity();
const copier = createIdentity();
const md5A = 'a'.repeat(32);
const md5B = 'b'.repeat(32);
const doc = (md5: string, size = 4) => ({name: 'doc.txt', md5, size});

function tracker(claimsSettleAt = 0) {
	const conflicts: NameConflict[] = [];
	const state = new TrackerState({epoch: 'e', ttlMs: 60_000, claimsSettleAt, onConflict: conflict => conflicts.push(conflict)});
	const list = (id: string, key: string, files: unknown[], now = 10) => state.updateList(id, {url: `http://127.0.0.1:${id.charCodeAt(0)}`, files: files as any}, now, {key});
	return {state, conflicts, list};
}

test('the first publisher owns a name: a later majority of other keys with other content is never offered, and each is named', t => {
	const {state, conflicts, list} = tracker();
	list('A', owner.publicKey, [{...doc(md5A), ...signNameRecord(owner, doc(md5A), 1), owner: undefined}]);
	list('E1', evil.publicKey, [doc(md5B)], 20);
	list('E2', createIdentity().publicKey, [doc(md5B)], 30);
	const found = state.find('doc.txt', 40)!;
	t.is(found.md5, md5A);
	t.deepEqual(found.peers.map(peer => peer.id), ['A']);
	t.is(found.owner, owner.publicKey);
	t.is(found.version, 1);
	t.deepEqual(JSON.parse(state.findBody('doc.txt', 40)!), found);
	t.deepEqual(conflicts.map(conflict => [conflict.holder, conflict.md5, conflict.owner]), [['E1', md5B, owner.publicKey], ['E2', md5B, owner.publicKey]]);
	// Exactly the other content, when asked for by its md5.
	t.deepEqual(state.find('doc.txt', 40, md5B)!.peers.map(peer => peer.id), ['E1', 'E2']);
});

test('copies carry the owner\'s record and are offered; the owner\'s new version moves the name and old copies stop being offered', t => {
	const {state, list} = tracker();
	const v1 = signNameRecord(owner, doc(md5A), 1);
	list('A', owner.publicKey, [{...doc(md5A), ...v1}]);
	list('C', copier.publicKey, [{...doc(md5A), ...v1}], 20);
	t.deepEqual(state.find('doc.txt', 30)!.peers.map(peer => peer.id), ['A', 'C']);
	const v2 = signNameRecord(owner, doc(md5B, 5), 2);
	list('A', owner.publicKey, [{...doc(md5B, 5), ...v2}], 40);
	const found = state.find('doc.txt', 50)!;
	t.deepEqual([found.md5, found.size, found.version, found.peers.map(peer => peer.id)], [md5B, 5, 2, ['A']]);
	// The owner gone, a copy of v1 is not offered while v2 is known; a copy of v2 is.
	state.leave('A');
	list('D', createIdentity().publicKey, [{...doc(md5B, 5), ...v2}], 60);
	t.deepEqual(state.find('doc.txt', 70)!.peers.map(peer => peer.id), ['D']);
});

test('a copy whose record does not verify counts as its holder\'s own claim', t => {
	const {state, list, conflicts} = tracker();
	list('A', owner.publicKey, [{...doc(md5A), ...signNameRecord(owner, doc(md5A), 1)}]);
	// Evil signs another content with its key and names the owner's key as the owner: the signature does not hold.
	const forged = {...signNameRecord(evil, doc(md5B), 9), owner: owner.publicKey};
	list('E', evil.publicKey, [{...doc(md5B), ...forged}], 20);
	t.deepEqual(state.find('doc.txt', 30)!.peers.map(peer => peer.id), ['A']);
	t.is(conflicts[0]!.key, evil.publicKey);
});

test('claims that arrive while the lists come back after a start cannot be ordered: NAME_CONFLICT, never either', t => {
	const {state, list} = tracker(1000);
	list('A', owner.publicKey, [doc(md5A)], 100);
	list('E', evil.publicKey, [doc(md5B)], 200);
	const error = t.throws(() => state.find('doc.txt', 300));
	t.is((error as any).code, 'NAME_CONFLICT');
	t.is(state.findBody('doc.txt', 300), undefined);
	t.deepEqual(state.find('doc.txt', 300, md5A)!.peers.map(peer => peer.id), ['A']);
	// Once a claimant is gone the name is its other claimant's; the same content from two keys is no conflict.
	state.leave('E');
	list('C', copier.publicKey, [doc(md5A)], 400);
	t.deepEqual(state.find('doc.txt', 500)!.peers.map(peer => peer.id), ['A', 'C']);
});
