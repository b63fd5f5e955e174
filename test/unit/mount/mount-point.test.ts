import test from 'ava';
import {isFuseMounted, parseMountInfo} from '../../../source/mount/mount-point.js';

const mountinfo = [
	'22 27 0:21 / /proc rw,relatime - proc proc rw',
	String.raw`88 27 0:52 / /tmp/xfs\040mnt rw,nosuid,nodev,relatime - fuse.xfs xfs-peer rw,user_id=0,group_id=0`,
	'89 27 0:53 / /tmp/other rw - tmpfs tmpfs rw',
].join('\n');

test('mount points and types come from mountinfo, spaces unescaped', t => {
	t.deepEqual(parseMountInfo(mountinfo), [
		{mountPoint: '/proc', fsType: 'proc'},
		{mountPoint: '/tmp/xfs mnt', fsType: 'fuse.xfs'},
		{mountPoint: '/tmp/other', fsType: 'tmpfs'},
	]);
});

test('only a FUSE mount at exactly that dir counts', t => {
	const mounts = parseMountInfo(mountinfo);
	t.true(isFuseMounted('/tmp/xfs mnt', mounts));
	t.false(isFuseMounted('/tmp/other', mounts));
	t.false(isFuseMounted('/tmp', mounts));
});
