import test from 'ava';
import {fitEnd, fitStart, formatDuration, formatRate} from '../../../source/tui/ui-text.js';

test('fitEnd pads short text and cuts long text with an ellipsis', t => {
	t.is(fitEnd('A', 4), 'A   ');
	t.is(fitEnd('http://127.0.0.1:40000', 12), 'http://127.…');
	t.is(fitEnd('abcd', 4), 'abcd');
	t.is(fitEnd('abcd', 0), '');
});

test('fitStart keeps the end of a path', t => {
	t.is(fitStart('/tmp/xfs-demo-me-abc', 12), '…demo-me-abc');
	t.is(fitStart('/tmp', 12), '/tmp');
});

test('durations and rates read short', t => {
	t.deepEqual([850, 1000, 42_400, 185_000, 7_380_000].map(formatDuration), ['<1s', '1s', '42s', '3m05s', '2h03m']);
	t.is(formatRate(1_258_291), '1.2 MiB/s');
	t.is(formatRate(512), '512 B/s');
});
