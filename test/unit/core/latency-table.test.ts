import test from 'ava';
import {parseLatencyCsv} from '../../../source/core/latency-table.js';

test('a row covers both directions; a reverse row overrides; a missing pair uses the largest value; self is 0', t => {
	const table = parseLatencyCsv('from,to,ms\nA,B,200\nB,A,300\nA,C,900\n');
	t.is(table.between('A', 'B'), 200);
	t.is(table.between('B', 'A'), 300);
	t.is(table.between('C', 'A'), 900);
	t.is(table.between('B', 'C'), 900);
	t.is(table.between('X', 'Y'), 900);
	t.is(table.between('A', 'A'), 0);
	t.deepEqual(table.ids, ['A', 'B', 'C']);
});

test('blank lines, comments and CRLF are accepted', t => {
	const table = parseLatencyCsv('from,to,ms\r\n\r\n# a comment\r\nA,B,150\r\n');
	t.is(table.between('B', 'A'), 150);
});

const bad: Array<[string, string]> = [
	['', 'latency.csv:1: empty file; expected the header "from,to,ms"'],
	['A,B,200\n', 'latency.csv:1: expected the header "from,to,ms", got "A,B,200"'],
	['from,to,ms\nA,B\n', 'latency.csv:2: expected 3 fields from,to,ms, got 2'],
	['from,to,ms\nA,B,50\n', 'latency.csv:2: ms must be in [100, 5000], got 50'],
	['from,to,ms\nA,B,5001\n', 'latency.csv:2: ms must be in [100, 5000], got 5001'],
	['from,to,ms\nA,B,fast\n', 'latency.csv:2: ms must be a number, got "fast"'],
	['from,to,ms\nA,A,100\n', 'latency.csv:2: a peer\'s latency to itself is 0; remove the row A,A'],
	['from,to,ms\nA,B,100\n\nA,B,200\n', 'latency.csv:4: the pair A,B is given twice'],
	['from,to,ms\nA/x,B,100\n', 'latency.csv:2: invalid machID "A/x"'],
];

for (const [text, message] of bad) {
	test(`rejects ${JSON.stringify(text)} naming file:line`, t => {
		t.throws(() => parseLatencyCsv(text), {message});
	});
}
