/** Lint config: xo's style, plus the rules that keep the tree's architecture (no import cycles, a pure core, a tracker that shares only source/common). */
import {createNodeResolver} from 'eslint-plugin-import-x';

// Xo's own restricted modules; an override that sets the rule's options has to list them again.
const deprecatedModules = ['domain', 'freelist', 'smalloc', 'punycode', 'sys', 'querystring', 'colors'];

const coreMessage = 'source/core is pure (DESIGN.md): no Express, got, fs, net, child processes or Ink here; the caller passes in what core needs.';
const impureModules = [
	...['fs', 'fs/promises', 'net', 'http', 'https', 'child_process'].flatMap(name => [name, `node:${name}`]),
	'express',
	'got',
	'ink',
	'react',
	'ink-text-input',
];

const xoConfig = [
	{
		react: true,
		settings: {
			// Xo lists these without the leading dot, so import-x skips every file it follows and no-cycle never sees a cycle.
			'import-x/extensions': ['.js', '.ts', '.tsx'],
			'import-x/parsers': {
				espree: ['.js'],
				'@typescript-eslint/parser': ['.ts', '.tsx'],
			},
			// Imports name the emitted `.js`; resolve them to the `.ts`/`.tsx` sources.
			'import-x/resolver-next': [
				createNodeResolver({
					extensions: ['.ts', '.tsx', '.js', '.json', '.node'],
					extensionAlias: {'.js': ['.ts', '.tsx', '.js']},
				}),
			],
		},
		rules: {
			// It takes any method named join for Array#join (Membership#join is not).
			'unicorn/require-array-join-separator': 'off',
			// Short imports, objects and types stay on one line; xo breaks every one with four or more names.
			'@stylistic/object-curly-newline': 'off',
			// Argv arrays are laid out as flag/value pairs, several to a line.
			'@stylistic/array-element-newline': 'off',
			// Long lines are wrapped by hand where that reads better (tables, messages, flag specs).
			'@stylistic/max-len': 'off',
			// JSX attributes in double quotes, as in Ink's docs and every component here.
			'@stylistic/jsx-quotes': ['error', 'prefer-double'],
			// `(await response.json()).files` is the habit of the tests and benches.
			'unicorn/no-await-expression-member': 'off',
			// `list[index]!` marks a read the code relies on (written as under noUncheckedIndexedAccess, which tsconfig leaves off).
			'@typescript-eslint/no-unnecessary-type-assertion': 'off',
			// Retries, backoff, ordered reads and stream backpressure await inside loops on purpose.
			'no-await-in-loop': 'off',
			// Buffer is used as Node's global everywhere; no file imports it.
			'n/prefer-global/buffer': 'off',
			// `null` and `Buffer` stay allowed: they are the types of Node's stream and child_process APIs this code implements.
			'@typescript-eslint/no-restricted-types': ['error', {
				types: {
					object: {message: 'The `object` type is hard to use. Use `Record<string, unknown>` instead.', fixWith: 'Record<string, unknown>'},
					'[]': 'Don\'t use the empty array type `[]`. It only allows empty arrays. Use `SomeType[]` instead.',
				},
			}],
			// The automatic JSX runtime (tsconfig "jsx": "react-jsx") needs no React in scope.
			'react/react-in-jsx-scope': 'off',
			// Boolean props are named for what they turn on, as Ink's own are (`bold`, `colors`).
			'react/boolean-prop-naming': 'off',
			// `.catch(() => {})` for best-effort cleanup, promise queues and `.then(ok, fail)` in stream callbacks are deliberate.
			'promise/prefer-await-to-then': 'off',
			// `.then(ok, fail)` keeps `fail` from seeing `ok`'s own errors; `.catch` would change that.
			'promise/prefer-catch': 'off',
			'@typescript-eslint/no-empty-function': 'off',
			// The entry points handle main()'s outcome with then/catch and exit with its status.
			'unicorn/prefer-top-level-await': 'off',
			'unicorn/no-process-exit': 'off',
			// Names that come from outside: env vars, DESIGN.md's error codes, HTTP headers, peer ids, signal names, toJSON.
			'@typescript-eslint/naming-convention': 'off',
			// Comments often open with a code name that keeps its case (md5, link(), latency.csv, updatelist).
			'capitalized-comments': 'off',
			// A class keeps each private helper beside the public method it serves.
			'@typescript-eslint/member-ordering': 'off',
			// Fields are declared in the class body beside the #private ones; no class here uses parameter properties.
			'@typescript-eslint/parameter-properties': 'off',
			// Open flags, seeded generators and byte flips need bitwise operators.
			'no-bitwise': 'off',
			// `temp` is this code's word for a file not yet placed (tempPath, tempDir); xo's other names do not occur.
			'unicorn/prevent-abbreviations': 'off',
			// Passing named functions (`map(formatBytes)`, `reduce(reduceUi, state)`) is deliberate; the rules also misfire on domain methods named find.
			'unicorn/no-array-callback-reference': 'off',
			'unicorn/no-array-method-this-argument': 'off',
			// Folding actions through the UI reducer is what reduce is for.
			'unicorn/no-array-reduce': 'off',
			// Ids and hex digits are ASCII; codePointAt would only add `| undefined`.
			'unicorn/prefer-code-point': 'off',
			// The engine's typed events are Node's EventEmitter (STYLE.md: engine emits, UI renders).
			'unicorn/prefer-event-target': 'off',
			// Callbacks started in a loop count down a shared counter, and loop flags are flipped by callbacks: both on purpose.
			'@typescript-eslint/no-loop-func': 'off',
			'no-unmodified-loop-condition': 'off',
			// In a condition `a || b` is meant; `??` would change it when `a` is false.
			'@typescript-eslint/prefer-nullish-coalescing': ['error', {ignoreTernaryTests: false, ignoreConditionalTests: true, ignoreMixedLogicalExpressions: false}],
			// An aborted request rejects with its AbortSignal's reason, which is typed `any`.
			'@typescript-eslint/prefer-promise-reject-errors': ['error', {allowThrowingAny: true}],
			// Character classes spell out the documented name rule ([A-Za-z0-9._-]); the rule folds them into \w and lowercases words in /i patterns.
			'unicorn/better-regex': 'off',
			// Table-driven tests pass the case's name, a string variable, as the message; the rule only knows literals.
			'ava/assertion-arguments': 'off',
		},
	},
	{
		files: ['source/core/**'],
		rules: {
			'@typescript-eslint/no-restricted-imports': ['error', {
				paths: [...deprecatedModules, ...impureModules.map(name => ({name, message: coreMessage}))],
				patterns: [{group: ['express/*', 'got/*', 'ink/*', 'react/*', 'ink-text-input/*'], message: coreMessage}],
			}],
		},
	},
	{
		files: ['tracker/**'],
		rules: {
			'@typescript-eslint/no-restricted-imports': ['error', {
				paths: deprecatedModules,
				patterns: [{group: ['../source/*', '!../source/common/'], message: 'The tracker shares only source/common with the peer: move what it needs there.'}],
			}],
		},
	},
	{
		files: ['test/**', 'bench/**', 'fixtures/**'],
		rules: {
			// Tests and scripts use the global process; source/ imports it.
			'n/prefer-global/process': 'off',
		},
	},
	{
		files: ['test/**', 'bench/**'],
		rules: {
			// Tests and benches read JSON replies as `any` and check them with exact assertions.
			'@typescript-eslint/no-unsafe-argument': 'off',
			'@typescript-eslint/no-unsafe-assignment': 'off',
			'@typescript-eslint/no-unsafe-call': 'off',
			'@typescript-eslint/no-unsafe-return': 'off',
			'@typescript-eslint/restrict-plus-operands': 'off',
			'@typescript-eslint/no-base-to-string': 'off',
			'@typescript-eslint/require-array-sort-compare': 'off',
			// The TUI tests match its ANSI escapes.
			'no-control-regex': 'off',
		},
	},
];

export default xoConfig;
