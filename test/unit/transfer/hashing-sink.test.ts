import {createHash, randomBytes} from 'node:crypto';
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import test, {type ExecutionContext} from 'ava';
import {HashingFileSink, hashingThreadsStarted} from '../../../source/transfer/hashing-sink.js';

async function tempDir(t: ExecutionContext): Promise<string> {
	const dir = await mkdtemp(path.join(tmpdir(), 'xfs-sink-'));
	t.teardown(async () => rm(dir, {recursive: true, force: true}));
	return dir;
}

test('writes every chunk in order and gives the md5 of exactly those bytes', async t => {
	const file = path.join(await tempDir(t), 'out.part');
	// Many small chunks with a tiny sync interval: batched writes and background syncs both happen.
	const chunks = Array.from({length: 200}, (_, index) => randomBytes(1 + ((index * 997) % 5000)));
	const whole = Buffer.concat(chunks);
	const seen: number[] = [];
	const sink = new HashingFileSink(file, {highWaterMark: 4096, syncEveryBytes: 16 * 1024, onChunk(_chunk, total) {
		seen.push(total);
		return undefined;
	}});
	await pipeline(Readable.from(chunks), sink);
	t.is(sink.md5, createHash('md5').update(whole).digest('hex'));
	t.is(sink.bytes, whole.length);
	t.true((await readFile(file)).equals(whole));
	t.is(seen.at(-1), whole.length);
});

test('an error from onChunk fails the stream and the refused chunk is not written', async t => {
	const file = path.join(await tempDir(t), 'out.part');
	const sink = new HashingFileSink(file, {onChunk: (_chunk, total) => (total > 10 ? new Error('more than announced') : undefined)});
	await t.throwsAsync(pipeline(Readable.from([Buffer.from('0123456789'), Buffer.from('x')]), sink), {message: 'more than announced'});
	t.false((await readFile(file, 'utf8')).includes('x'));
	t.throws(() => sink.md5);
});

test('never writes over an existing file', async t => {
	const file = path.join(await tempDir(t), 'there.txt');
	await writeFile(file, 'keep me');
	await t.throwsAsync(pipeline(Readable.from([Buffer.from('new')]), new HashingFileSink(file)), {code: 'EEXIST'});
	t.is(await readFile(file, 'utf8'), 'keep me');
	const unopened = new HashingFileSink(file);
	unopened.once('error', () => {});
	await t.throwsAsync(unopened.opened(), {code: 'EEXIST'});
});

test('opened() resolves once the file is open and a thread is ready; then bytes flow through even a tiny ring', async t => {
	const dir = await tempDir(t);
	const sink = new HashingFileSink(path.join(dir, 'out.part'), {ringBytes: 4096});
	await sink.opened();
	// With a ring of 4 KiB, 1 MiB goes through only if the thread consumes it as it comes.
	const whole = randomBytes(1024 * 1024);
	await pipeline(Readable.from([whole]), sink);
	t.is(sink.md5, createHash('md5').update(whole).digest('hex'));
});

test('an empty stream makes an empty file with the md5 of no bytes', async t => {
	const file = path.join(await tempDir(t), 'empty.part');
	const sink = new HashingFileSink(file);
	await pipeline(Readable.from([]), sink);
	t.is(sink.md5, 'd41d8cd98f00b204e9800998ecf8427e');
	t.is((await readFile(file)).length, 0);
});

test('a ring much smaller than the data still delivers every byte in order', async t => {
	const file = path.join(await tempDir(t), 'out.part');
	const whole = randomBytes((3 * 1024 * 1024) + 17);
	const chunks = Array.from({length: Math.ceil(whole.length / 65_536)}, (_, index) => whole.subarray(index * 65_536, (index + 1) * 65_536));
	const sink = new HashingFileSink(file, {ringBytes: 100_000});
	await pipeline(Readable.from(chunks), sink);
	t.is(sink.md5, createHash('md5').update(whole).digest('hex'));
	t.true((await readFile(file)).equals(whole));
});

test.serial('one hashing thread serves files one after another, also after one was aborted', async t => {
	const dir = await tempDir(t);
	const before = hashingThreadsStarted();
	const hashOf = async (name: string, data: Buffer, onChunk?: (chunk: Buffer, total: number) => Error | undefined) => {
		const sink = new HashingFileSink(path.join(dir, name), {onChunk});
		await pipeline(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), sink);
		return sink.md5;
	};

	for (const name of ['a', 'b']) {
		const data = randomBytes(5000);
		t.is(await hashOf(name, data), createHash('md5').update(data).digest('hex'));
	}

	await t.throwsAsync(hashOf('refused', randomBytes(5000), (_chunk, total) => (total > 1000 ? new Error('too much') : undefined)), {message: 'too much'});
	const data = randomBytes(5000);
	t.is(await hashOf('c', data), createHash('md5').update(data).digest('hex'));
	t.is(await readFile(path.join(dir, 'c'), 'utf8'), data.toString('utf8'));
	t.true(hashingThreadsStarted() - before <= 1, `${hashingThreadsStarted() - before} threads started`);
});
