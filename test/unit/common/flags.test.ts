import test from 'ava';
import {UsageError} from '../../../source/common/errors.js';
import {type FlagSpec, formatHelp, parseFlags} from '../../../source/common/flags.js';
import {peerFlags} from '../../../source/peer/peer-config.js';

const specs: FlagSpec[] = [
	{name: 'port', kind: 'integer', env: 'XFS_PORT', default: 0, description: 'port'},
	{name: 'host', kind: 'string', default: '127.0.0.1', description: 'host'},
	{name: 'scale', kind: 'number', env: 'XFS_SCALE', description: 'scale'},
	{name: 'json', kind: 'boolean', default: false, description: 'json'},
	{name: 'fault', kind: 'string', env: 'XFS_FAULT', repeatable: true, description: 'fault'},
];

test('a flag given twice: the last one wins, in either spelling', t => {
	const {values} = parseFlags('prog', specs, ['--port', '1', '--host=a', '--port=2', '--host', 'b', '--scale', '0.5', '--scale', '2', '--json', '--json=false'], {});
	t.deepEqual(values, {port: 2, host: 'b', scale: 2, json: false});
});

test('the last flag wins over the environment too', t => {
	t.is(parseFlags('prog', specs, ['--port', '1', '--port', '3'], {XFS_PORT: '9'}).values.port, 3);
});

test('a repeatable flag collects every value in order; the environment gives it only when absent', t => {
	const given = parseFlags('prog', specs, ['--fault', 'corrupt=0.5', '--fault', 'stall-after=10'], {XFS_FAULT: 'corrupt=1'});
	t.deepEqual(given.values.fault, ['corrupt=0.5', 'stall-after=10']);
	t.deepEqual(parseFlags('prog', specs, [], {XFS_FAULT: 'corrupt=1;stall-after=5'}).values.fault, ['corrupt=1', 'stall-after=5']);
});

test('every occurrence is still checked: a bad earlier value is an error even when a later one is good', t => {
	const error = t.throws(() => parseFlags('prog', specs, ['--port', 'x', '--port', '1'], {}), {instanceOf: UsageError});
	t.is(error?.message, 'prog: --port: expected a whole number, got "x"');
});

test('the help says how a repeated flag is taken', t => {
	const help = formatHelp('Usage: prog', specs);
	t.true(help.includes('Options (a flag given twice: the last one wins):'));
	t.regex(help, /--fault <string> +fault \(env XFS_FAULT; may be given several times\)/);
	t.is(peerFlags.filter(spec => spec.repeatable).map(spec => spec.name).join(), 'fault');
});
