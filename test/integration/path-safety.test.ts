import {execFileSync} from 'node:child_process';
import {mkdir, symlink, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {rawRequest, startPeerApp, tempDir} from '../helpers/peer-app.js';

async function share(t: any) {
	const root = await tempDir(t, 'xfs-safety-');
	const dir = path.join(root, 'share');
	await mkdir(dir);
	await writeFile(path.join(root, 'secret.txt'), 'outside the share dir');
	await writeFile(path.join(dir, 'ok.txt'), 'shared bytes');
	await writeFile(path.join(dir, '.hidden'), 'hidden');
	await mkdir(path.join(dir, 'sub'));
	await writeFile(path.join(dir, 'sub', 'inner.txt'), 'in a subfolder');
	await mkdir(path.join(dir, '.xfs', 'partial'), {recursive: true});
	await writeFile(path.join(dir, '.xfs', 'partial', 'half.bin.part'), 'half-written');
	await symlink(path.join(root, 'secret.txt'), path.join(dir, 'escape.txt'));
	await symlink('/etc/passwd', path.join(dir, 'passwd'));
	await symlink('ok.txt', path.join(dir, 'inner-link.txt'));
	execFileSync('mkfifo', [path.join(dir, 'pipe')]);
	return dir;
}

test('the share dir\'s regular files are served, whole and by Range', async t => {
	const {url} = await startPeerApp(t, await share(t));
	const whole = await rawRequest(url, '/files/ok.txt');
	t.is(whole.status, 200);
	t.is(whole.body.toString(), 'shared bytes');
	t.is(whole.headers['accept-ranges'], 'bytes');
	const part = await rawRequest(url, '/files/ok.txt', {headers: {range: 'bytes=7-'}});
	t.is(part.status, 206);
	t.is(part.headers['content-range'], 'bytes 7-11/12');
	t.is(part.body.toString(), 'bytes');
	const suffix = await rawRequest(url, '/files/ok.txt', {headers: {range: 'bytes=-5'}});
	t.is(suffix.body.toString(), 'bytes');
	const beyond = await rawRequest(url, '/files/ok.txt', {headers: {range: 'bytes=50-60'}});
	t.is(beyond.status, 416);
	t.is(beyond.headers['content-range'], 'bytes */12');
});

const attacks: Array<[string, number]> = [
	['/files/..%2fsecret.txt', 400],
	['/files/%2e%2e%2fsecret.txt', 400],
	['/files/%2e%2e', 400],
	['/files/..%5csecret.txt', 400],
	['/files/%252e%252e%252fsecret.txt', 400],
	['/files/%2fetc%2fpasswd', 400],
	['/files//etc/passwd', 404],
	['/files/ok.txt%00.jpg', 400],
	['/files/%00', 400],
	['/files/sub%2finner.txt', 400],
	['/files/sub/inner.txt', 404],
	['/files/..', 400],
	['/files/.xfs', 400],
	['/files/.xfs%2fpartial%2fhalf.bin.part', 400],
	['/files/.hidden', 400],
	['/files/escape.txt', 404],
	['/files/passwd', 404],
	['/files/inner-link.txt', 404],
	['/files/pipe', 404],
	['/files/sub', 404],
	['/files/nope.txt', 404],
	[`/files/${'a'.repeat(256)}`, 400],
	['/files/%E0%A4%A', 400],
	['/../secret.txt', 404],
];

for (const [attack, status] of attacks) {
	test(`GET ${attack.slice(0, 50)} is ${status} and reads nothing`, async t => {
		const {url, load} = await startPeerApp(t, await share(t));
		const reply = await rawRequest(url, attack);
		t.is(reply.status, status);
		t.is(reply.headers['content-type']?.split(';')[0], 'application/json');
		const text = reply.body.toString();
		t.false(text.includes('outside the share dir'));
		t.false(text.includes('root:'));
		t.false(text.includes('half-written'));
		t.is(typeof JSON.parse(text).error.code, 'string');
		t.is(load.load, 0);
	});
}

test('a device file in the share dir is not served', async t => {
	const dir = await share(t);
	try {
		execFileSync('mknod', [path.join(dir, 'null'), 'c', '1', '3']);
	} catch {
		t.log('mknod is not allowed here: the device case is covered by the FIFO case (fstat sees no regular file)');
		t.pass();
		return;
	}

	const {url} = await startPeerApp(t, dir);
	t.is((await rawRequest(url, '/files/null')).status, 404);
});

test('only GET is routed: other methods are 404 JSON and change nothing', async t => {
	const {url} = await startPeerApp(t, await share(t));
	for (const method of ['PUT', 'DELETE', 'POST']) {
		const reply = await rawRequest(url, '/files/ok.txt', {method, body: 'x'});
		t.is(reply.status, 404);
	}

	t.is((await rawRequest(url, '/files/ok.txt')).body.toString(), 'shared bytes');
});
