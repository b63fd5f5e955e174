import test from 'ava';
import {findFuse, loadFailure} from '../../../source/mount/fuse-binding.js';

test('a missing device is named, with how to get FUSE on Debian', t => {
	const found = findFuse({...process.env, XFS_FUSE_DEVICE: '/nonexistent/fuse'});
	t.false(found.ok);
	t.regex(found.ok ? '' : found.missing, /^\/nonexistent\/fuse is missing \(the fuse kernel module is not loaded.*; on Debian: apt-get install libfuse2 fuse$/);
});

test('no fusermount on PATH is named', t => {
	const found = findFuse({XFS_FUSE_DEVICE: '/dev/null', PATH: '/nonexistent'});
	t.false(found.ok);
	t.is(found.ok ? '' : found.missing, 'fusermount is not on PATH (it comes with the fuse package); on Debian: apt-get install libfuse2 fuse');
});

test('a package that does not load: missing package and missing libfuse2 are told apart', t => {
	t.is(
		loadFailure('fuse-native', {code: 'MODULE_NOT_FOUND', message: 'Cannot find module \'fuse-native\'\nRequire stack: ...'}),
		'the optional package fuse-native is not installed (npm install fuse-native), and it needs the system\'s libfuse2; on Debian: apt-get install libfuse2 fuse',
	);
	t.is(
		loadFailure('fuse-native', {code: 'ERR_DLOPEN_FAILED', message: 'libfuse.so.2: cannot open shared object file: No such file or directory'}),
		'libfuse2 is not installed (libfuse.so.2: cannot open shared object file: No such file or directory); on Debian: apt-get install libfuse2 fuse',
	);
});

test('the module loader failing for real is reported as the missing package', t => {
	const found = findFuse({XFS_FUSE_DEVICE: '/dev/null', PATH: process.env.PATH, XFS_FUSE_MODULE: 'fuse-native-not-installed'});
	t.false(found.ok);
	t.regex(found.ok ? '' : found.missing, /^the optional package fuse-native-not-installed is not installed/);
});
