import {constants} from 'node:os';
import test from 'ava';
import {fuseOperations, type MountHandlers} from '../../../source/mount/fuse-ops.js';
import {MountError} from '../../../source/mount/remote-file.js';

const stat = {mode: 0o10_0444, size: 3, uid: 0, gid: 0, nlink: 1, mtime: new Date(0), atime: new Date(0), ctime: new Date(0)};

function handlers(overrides: Partial<MountHandlers>): MountHandlers {
	const refuse = () => {
		throw new MountError('EROFS', 'refused');
	};

	return {
		getattr: () => stat,
		readdir: () => ['.', '..'],
		open: () => 1,
		create: refuse,
		read: () => [],
		write: refuse,
		flush() {},
		release() {},
		truncate: refuse,
		check: refuse,
		statfs: () => ({}),
		readDeadlineMs: () => 50,
		...overrides,
	};
}

test('an answer the mount has is given at once, in the same call', t => {
	const operations = fuseOperations(handlers({}), {metadataMs: 50, writeMs: 50});
	let answer: unknown[] | undefined;
	operations.getattr('/x', (...values) => {
		answer = values;
	});
	t.deepEqual(answer, [0, stat]);
});

test('a handler\'s MountError is its errno; anything else is EIO', async t => {
	const operations = fuseOperations(handlers({
		getattr() {
			throw new MountError('ENOENT', 'no such name');
		},
		async readdir() {
			throw new Error('a bug');
		},
	}), {metadataMs: 50, writeMs: 50});
	const codes: number[] = [];
	operations.getattr('/x', code => codes.push(code));
	await new Promise<void>(resolve => {
		operations.readdir('/', code => {
			codes.push(code);
			resolve();
		});
	});
	t.deepEqual(codes, [-constants.errno.ENOENT, -constants.errno.EIO]);
});

test('a read is copied into the kernel\'s buffer when it is answered, never past the length asked', async t => {
	const operations = fuseOperations(handlers({
		read: async () => [Buffer.from('abc'), Buffer.from('defgh')],
	}), {metadataMs: 50, writeMs: 50});
	const kernel = Buffer.alloc(6, '.');
	const bytes = await new Promise<number>(resolve => {
		operations.read('/x', 1, kernel, 6, 0, resolve);
	});
	t.is(bytes, 6);
	t.is(kernel.toString(), 'abcdef');
});

test('past its deadline an operation is EIO, answered once; the work hears the deadline and its late bytes go nowhere', async t => {
	let expired = false;
	let late: (chunks: Buffer[]) => void = () => {};
	const operations = fuseOperations(handlers({
		async read({deadline}) {
			deadline.onExpire(() => {
				expired = true;
			});
			return new Promise<Buffer[]>(resolve => {
				late = resolve;
			});
		},
	}), {metadataMs: 50, writeMs: 50});
	const kernel = Buffer.alloc(4, '.');
	const answers: number[] = [];
	await new Promise<void>(resolve => {
		operations.read('/x', 1, kernel, 4, 0, bytes => {
			answers.push(bytes);
			resolve();
		});
	});
	late([Buffer.from('late')]);
	await new Promise(resolve => {
		setImmediate(resolve);
	});
	t.deepEqual(answers, [-constants.errno.EIO]);
	t.true(expired);
	t.is(kernel.toString(), '....');
});

test('a write hands the handler its own copy of the kernel\'s bytes', async t => {
	let seen: Buffer | undefined;
	const operations = fuseOperations(handlers({
		async write(_path, _handle, bytes) {
			seen = bytes;
			return bytes.length;
		},
	}), {metadataMs: 50, writeMs: 50});
	const kernel = Buffer.from('hello');
	const written = await new Promise<number>(resolve => {
		operations.write('/x', 1, kernel, 5, 0, resolve);
		kernel.fill('x');
	});
	t.is(written, 5);
	t.is(seen?.toString(), 'hello');
});

test('operations the mount only checks answer with the rule\'s errno', t => {
	const checked: string[] = [];
	const operations = fuseOperations(handlers({
		check(operation, path) {
			checked.push(`${operation} ${path}`);
			throw new MountError(operation === 'mkdir' ? 'EPERM' : 'EROFS', 'refused');
		},
	}), {metadataMs: 50, writeMs: 50});
	const codes: number[] = [];
	operations.mkdir('/d', 0o755, code => codes.push(code));
	operations.unlink('/x', code => codes.push(code));
	operations.rename('/x', '/y', code => codes.push(code));
	operations.utimens('/x', 0, 0, code => codes.push(code));
	t.deepEqual(codes, [-constants.errno.EPERM, -constants.errno.EROFS, -constants.errno.EROFS, -constants.errno.EROFS]);
	t.deepEqual(checked, ['mkdir /d', 'unlink /x', 'rename /x', 'set-attributes /x']);
});
