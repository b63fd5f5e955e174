import test from 'ava';
import {allowed, parseMountPath, type Errno, type MountOperation, type NameState} from '../../../source/core/mount-rules.js';

test('paths: the root, a shared name, an invalid or hidden name, anything nested', t => {
	t.deepEqual(parseMountPath('/'), {kind: 'root'});
	t.deepEqual(parseMountPath('/song.mp3'), {kind: 'name', name: 'song.mp3'});
	t.deepEqual(parseMountPath('/.xfs'), {kind: 'invalid', name: '.xfs'});
	t.deepEqual(parseMountPath('/a b'), {kind: 'invalid', name: 'a b'});
	t.deepEqual(parseMountPath(`/${'x'.repeat(256)}`), {kind: 'invalid', name: 'x'.repeat(256)});
	t.deepEqual(parseMountPath('/dir/file'), {kind: 'nested'});
});

const name = parseMountPath('/notes.md');
const table: Array<[MountOperation, NameState, 'ok' | Errno]> = [
	['lookup', 'listed', 'ok'],
	['open-read', 'listed', 'ok'],
	['open-write', 'listed', 'EROFS'],
	['truncate', 'listed', 'EROFS'],
	['unlink', 'listed', 'EROFS'],
	['rename', 'listed', 'EROFS'],
	['set-attributes', 'listed', 'EROFS'],
	['create', 'listed', 'EEXIST'],
	['mkdir', 'listed', 'EPERM'],
	['rmdir', 'listed', 'ENOTDIR'],
	['link', 'listed', 'EEXIST'],
	['lookup', 'absent', 'ENOENT'],
	['open-read', 'absent', 'ENOENT'],
	['create', 'absent', 'ok'],
	['unlink', 'absent', 'ENOENT'],
	['mkdir', 'absent', 'EPERM'],
	['link', 'absent', 'EPERM'],
	['lookup', 'writing', 'ok'],
	['truncate', 'writing', 'ok'],
	['set-attributes', 'writing', 'ok'],
	['open-read', 'writing', 'EACCES'],
	['open-write', 'writing', 'EACCES'],
	['create', 'writing', 'EEXIST'],
	['unlink', 'writing', 'EROFS'],
	['rename', 'writing', 'EROFS'],
];

for (const [operation, state, expected] of table) {
	test(`${operation} of ${state === 'absent' ? 'an' : 'a'} ${state} name: ${expected}`, t => {
		t.is(allowed(operation, name, state), expected);
	});
}

test('invalid names cannot be made, and are not there to find', t => {
	const hidden = parseMountPath('/.hidden');
	t.is(allowed('create', hidden), 'EINVAL');
	t.is(allowed('lookup', hidden), 'ENOENT');
	t.is(allowed('mkdir', hidden), 'EPERM');
});

test('the root is a directory nobody changes; nested paths are not there', t => {
	const root = parseMountPath('/');
	t.is(allowed('lookup', root), 'ok');
	t.is(allowed('open-read', root), 'ok');
	t.is(allowed('open-write', root), 'EISDIR');
	t.is(allowed('rmdir', root), 'EPERM');
	t.is(allowed('rename', root), 'EPERM');
	t.is(allowed('create', parseMountPath('/dir/file')), 'ENOENT');
	t.is(allowed('mkdir', parseMountPath('/dir/sub')), 'EPERM');
});
