import test from 'ava';
import type {FileEntry, FileSummary} from '../../../source/common/wire.js';
import {NetworkListing} from '../../../source/mount/network-listing.js';

const md5a = 'a'.repeat(32);
const md5b = 'b'.repeat(32);

function setup(options: {network?: FileSummary[]; local?: FileEntry[]} = {}) {
	let now = 1000;
	let network = options.network ?? [{name: 'song.mp3', md5: md5a, size: 10, holders: 2}];
	let local: FileEntry[] = options.local ?? [];
	let calls = 0;
	let failing = false;
	const listing = new NetworkListing({
		async networkFiles() {
			calls++;
			await new Promise(resolve => {
				setImmediate(resolve);
			});
			if (failing) {
				throw new Error('tracker down');
			}

			return network;
		},
		localFiles: () => local,
		now: () => now,
	});
	return {
		listing,
		calls: () => calls,
		advance(ms: number) {
			now += ms;
		},
		setNetwork(files: FileSummary[]) {
			network = files;
		},
		setLocal(files: FileEntry[]) {
			local = files;
		},
		fail(value: boolean) {
			failing = value;
		},
	};
}

test('the first lookup waits for the network; later ones are answered at once from the snapshot', async t => {
	const {listing, calls, advance} = setup();
	const first = listing.lookup('song.mp3');
	t.true(first instanceof Promise);
	t.like(await first, {name: 'song.mp3', size: 10, holders: 2, local: false, seenAt: 1000});
	advance(500);
	t.like(listing.lookup('song.mp3'), {size: 10});
	t.is(calls(), 1);
});

test('a prefetch at mount start is the first snapshot: a lookup while it runs shares it, one after it is answered at once', async t => {
	const {listing, calls} = setup();
	listing.prefetch();
	t.is(calls(), 1);
	const during = listing.lookup('song.mp3');
	t.true(during instanceof Promise);
	t.like(await during, {name: 'song.mp3'});
	t.like(listing.lookup('song.mp3'), {name: 'song.mp3'});
	t.deepEqual(listing.names(), ['song.mp3']);
	t.is(calls(), 1);
});

test('a stale snapshot serves at once while it refreshes in the background', async t => {
	const {listing, calls, advance, setNetwork} = setup();
	await listing.lookup('song.mp3');
	setNetwork([{name: 'song.mp3', md5: md5b, size: 20, holders: 1}]);
	advance(1000);
	t.like(listing.lookup('song.mp3'), {size: 10});
	t.is(calls(), 2);
	await new Promise(resolve => {
		setImmediate(resolve);
	});
	// A new version is a new mtime; the same version keeps its own.
	t.like(listing.lookup('song.mp3'), {size: 20, md5: md5b, seenAt: 2000});
});

test('a miss in a snapshot that is not brand new asks the network again before saying no', async t => {
	const {listing, calls, advance, setNetwork} = setup();
	await listing.lookup('song.mp3');
	t.is(listing.lookup('new.txt'), undefined);
	advance(300);
	setNetwork([{name: 'song.mp3', md5: md5a, size: 10, holders: 2}, {name: 'new.txt', md5: md5b, size: 3, holders: 1}]);
	t.like(await listing.lookup('new.txt'), {size: 3});
	t.is(calls(), 2);
});

test('this peer\'s own files are listed as local, and a change is listed at once', async t => {
	const {listing, setLocal} = setup({local: [{name: 'song.mp3', md5: md5a, size: 10}]});
	t.like(await listing.lookup('song.mp3'), {local: true, holders: 2});
	setLocal([{name: 'song.mp3', md5: md5a, size: 10}, {name: 'mine.txt', md5: md5b, size: 4}]);
	listing.changed();
	t.like(listing.lookup('mine.txt'), {local: true, holders: 1});
	t.deepEqual(await listing.names(), ['mine.txt', 'song.mp3']);
});

test('while the tracker is down the last listing serves, and this peer\'s files still follow', async t => {
	const {listing, advance, fail, setLocal} = setup();
	await listing.lookup('song.mp3');
	fail(true);
	advance(1500);
	t.like(listing.lookup('song.mp3'), {size: 10});
	await new Promise(resolve => {
		setImmediate(resolve);
	});
	setLocal([{name: 'mine.txt', md5: md5b, size: 4}]);
	listing.changed();
	await new Promise(resolve => {
		setImmediate(resolve);
	});
	t.deepEqual(await listing.names(), ['mine.txt', 'song.mp3']);
});

test('a tracker down at the first access: this peer\'s own files are listed', async t => {
	const {listing, fail} = setup({local: [{name: 'mine.txt', md5: md5b, size: 4}]});
	fail(true);
	t.deepEqual(await listing.names(), ['mine.txt']);
});

test('readers that come during a refresh share it', async t => {
	const {listing, calls} = setup();
	const [first, names] = await Promise.all([listing.lookup('song.mp3') as Promise<unknown>, listing.names() as Promise<string[]>, listing.lookup('song.mp3') as Promise<unknown>]);
	t.like(first, {size: 10});
	t.deepEqual(names, ['song.mp3']);
	t.is(calls(), 1);
});

test('a refresh that finds the same files keeps the snapshot\'s entries; one with a change rebuilds them', async t => {
	const {listing, advance, setNetwork, calls} = setup();
	const first = await listing.lookup('song.mp3');
	advance(1500);
	t.is(listing.lookup('song.mp3'), first);
	// The stale lookup started a refresh; it finds what the last one found.
	await listing.names();
	await new Promise(resolve => {
		setImmediate(resolve);
	});
	t.is(calls(), 2);
	t.is(listing.lookup('song.mp3'), first);
	setNetwork([{name: 'song.mp3', md5: md5a, size: 10, holders: 3}]);
	advance(1500);
	void listing.lookup('song.mp3');
	for (let wait = 0; wait < 10 && listing.peek('song.mp3') === first; wait++) {
		await new Promise(resolve => {
			setImmediate(resolve);
		});
	}

	t.not(listing.peek('song.mp3'), first);
	t.like(listing.peek('song.mp3'), {holders: 3, seenAt: first!.seenAt});
});
