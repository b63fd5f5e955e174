import test from 'ava';
import {formatResult} from '../../../source/commands/format.js';

const md5 = 'a'.repeat(32);

test('find of a pinned file says pinned r and copies n/r', t => {
	const text = formatResult({cmd: 'find', ok: true, name: 'notes.txt', md5, size: 2048, peers: [], down: [], local: false, stale: false, pinned: 3, copies: ['P1', 'P5']});
	t.is(text, `find notes.txt: 0 holders up, md5 ${md5}, 2.0 KiB; pinned 3, copies 2/3`);
});

test('put says where the verified copies are, or that it is under-replicated; unpin says what stays', t => {
	t.is(formatResult({cmd: 'put', ok: true, name: 'n.txt', md5, size: 10, r: 3, replicas: ['P4', 'P1', 'P5']}), `put n.txt: 3 verified copies on P4, P1, P5 (r 3, 10 B, md5 ${md5})`);
	t.is(formatResult({cmd: 'put', ok: true, name: 'n.txt', md5, size: 10, r: 3, replicas: ['B', 'me'], underReplicated: '2/3'}), `put n.txt: under-replicated 2/3 on B, me (r 3, 10 B, md5 ${md5})`);
	t.is(formatResult({cmd: 'unpin', ok: true, name: 'n.txt', unpinned: ['P1', 'P5']}), 'unpin n.txt: no longer kept on r peers; 2 copies stay as ordinary shared files (P1, P5)');
	t.is(formatResult({cmd: 'unpin', ok: true, name: 'n.txt', unpinned: []}), 'unpin n.txt: no longer kept on r peers; 0 copies stay as ordinary shared files');
});
