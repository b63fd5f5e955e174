import test from 'ava';
import {commandNames} from '../../../source/commands/command-parser.js';
import {completeLine} from '../../../source/tui/completion.js';

const files = ['data.csv', 'paper.pdf', 'photo.jpg', 'readme.txt', 'song.mp3'];

test('a unique command prefix completes, with a space when the command takes an argument', t => {
	t.deepEqual(completeLine('dow', commandNames, files), {value: 'download ', choices: []});
	t.deepEqual(completeLine('getl', commandNames, files), {value: 'getload ', choices: []});
	t.deepEqual(completeLine('pu', commandNames, files), {value: 'put ', choices: []});
	t.deepEqual(completeLine('get', commandNames, files), {value: 'get', choices: ['get', 'getload']});
	t.deepEqual(completeLine('up', commandNames, files), {value: 'updatelist', choices: []});
	t.deepEqual(completeLine('FI', commandNames, files), {value: 'FI', choices: ['files', 'find']});
});

test('an ambiguous prefix extends to the common part and lists the choices', t => {
	t.deepEqual(completeLine('f', commandNames, files), {value: 'fi', choices: ['files', 'find']});
	t.deepEqual(completeLine('', commandNames, files), {value: '', choices: [...commandNames].sort()});
});

test('file names complete after find and download', t => {
	t.deepEqual(completeLine('find so', commandNames, files), {value: 'find song.mp3', choices: []});
	t.deepEqual(completeLine('download p', commandNames, files), {value: 'download p', choices: ['paper.pdf', 'photo.jpg']});
	t.deepEqual(completeLine('download  ph', commandNames, files), {value: 'download photo.jpg', choices: []});
	t.deepEqual(completeLine('download ', commandNames, files), {value: 'download ', choices: files});
});

test('nothing to complete leaves the line as it is', t => {
	t.deepEqual(completeLine('zzz', commandNames, files), {value: 'zzz', choices: []});
	t.deepEqual(completeLine('find zzz', commandNames, files), {value: 'find zzz', choices: []});
	t.deepEqual(completeLine('getload A', commandNames, files), {value: 'getload A', choices: []});
	t.deepEqual(completeLine('find a b', commandNames, files), {value: 'find a b', choices: []});
});
