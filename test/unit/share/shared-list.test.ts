import test from 'ava';
import {SharedList} from '../../../source/share/shared-list.js';

const entries = [{name: 'a.txt', md5: 'a'.repeat(32), size: 1}, {name: 'b.bin', md5: 'b'.repeat(32), size: 20}];

test('a list made from entries gives them back and their JSON text', t => {
	const list = SharedList.of(entries);
	t.is(list.entries, entries);
	t.is(list.json, JSON.stringify(entries));
});

test('a list made from JSON text gives that text back as it is and parses the entries once', t => {
	const text = JSON.stringify(entries);
	const list = SharedList.fromJson(text);
	t.is(list.json, text);
	t.deepEqual(list.entries, entries);
	t.is(list.entries, list.entries);
	t.deepEqual(SharedList.fromJson('[]').entries, []);
});
