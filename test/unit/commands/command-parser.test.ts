import test from 'ava';
import {parseCommand} from '../../../source/commands/command-parser.js';

test('parses every command', t => {
	t.deepEqual(parseCommand('find song.mp3'), {cmd: 'find', name: 'song.mp3'});
	t.deepEqual(parseCommand('  download   a_b-c.txt  '), {cmd: 'download', name: 'a_b-c.txt'});
	t.deepEqual(parseCommand(`download doc.txt@${'0a'.repeat(16)}`), {cmd: 'download', name: 'doc.txt', md5: '0a'.repeat(16)});
	t.deepEqual(parseCommand('getload A'), {cmd: 'getload', target: {kind: 'peer', id: 'A'}});
	t.deepEqual(parseCommand('getload 127.0.0.1:7001'), {cmd: 'getload', target: {kind: 'address', url: 'http://127.0.0.1:7001'}});
	t.deepEqual(parseCommand('getload http://host.example:8080'), {cmd: 'getload', target: {kind: 'address', url: 'http://host.example:8080'}});
	for (const cmd of ['updatelist', 'files', 'peers', 'ls', 'help', 'exit'] as const) {
		t.deepEqual(parseCommand(cmd), {cmd});
	}

	t.deepEqual(parseCommand('get song.mp3'), {cmd: 'download', name: 'song.mp3'});
	t.deepEqual(parseCommand('put song.mp3'), {cmd: 'put', name: 'song.mp3'});
	t.deepEqual(parseCommand('put /home/me/notes.txt'), {cmd: 'put', name: 'notes.txt', path: '/home/me/notes.txt'});
	t.deepEqual(parseCommand('put ./notes.txt'), {cmd: 'put', name: 'notes.txt', path: './notes.txt'});
	t.deepEqual(parseCommand('unpin song.mp3'), {cmd: 'unpin', name: 'song.mp3'});
	t.deepEqual(parseCommand('FIND x'), {cmd: 'find', name: 'x'});
	t.deepEqual(parseCommand('quit'), {cmd: 'exit'});
	t.is(parseCommand('   '), undefined);
});

const bad: Array<[string, string]> = [
	['find', 'find: expected 1 argument; usage: find <name>'],
	['find a b', 'find: expected 1 argument; usage: find <name>'],
	['download ../etc/passwd', 'invalid file name "../etc/passwd": use 1-255 of [A-Za-z0-9._-], not starting with "."'],
	['download .xfs', 'invalid file name ".xfs": a name with a leading "." is hidden, never shared'],
	['download doc.txt@XYZ', 'download "doc.txt@XYZ": the md5 after "@": expected 32 lowercase hex digits, got "XYZ"'],
	[`download @${'a'.repeat(32)}`, 'invalid file name "": use 1-255 of [A-Za-z0-9._-], not starting with "."'],
	['find ..', 'invalid file name "..": use 1-255 of [A-Za-z0-9._-], not starting with "."'],
	[`find ${'a'.repeat(256)}`, `invalid file name "${'a'.repeat(40)}…": use 1-255 of [A-Za-z0-9._-], not starting with "."`],
	['ls -l', 'ls: expected no arguments; usage: ls'],
	['getload a/b', 'getload: "a/b" is neither a machID nor host:port'],
	['getload host:', 'getload: "host:" must be host:port'],
	['rm x', 'unknown command "rm"; try: find, download, get, put, unpin, getload, updatelist, files, peers, ls, help, exit'],
	['put', 'put: expected 1 argument; usage: put <name|path>'],
	['put /tmp/', 'invalid file name (the last part of the path) "": use 1-255 of [A-Za-z0-9._-], not starting with "."'],
	['put ../.secret', 'invalid file name (the last part of the path) ".secret": a name with a leading "." is hidden, never shared'],
	['unpin ../x', 'invalid file name "../x": use 1-255 of [A-Za-z0-9._-], not starting with "."'],
];

for (const [line, message] of bad) {
	test(`rejects ${JSON.stringify(line.slice(0, 30))} with BAD_INPUT`, t => {
		const error = t.throws(() => parseCommand(line), {message});
		t.is((error as {code?: string}).code, 'BAD_INPUT');
	});
}
