/** A small strict flag parser shared by both programs: argv and environment in, typed values or UsageError out (pure). */
import {UsageError} from './errors.js';

export type FlagSpec = {
	/** Long name without dashes, e.g. "latency-scale". */
	name: string;
	kind: 'string' | 'number' | 'integer' | 'boolean';
	/** Environment variable that gives the value when the flag is absent. */
	env?: string;
	default?: string | number | boolean;
	description: string;
	valueName?: string;
	/** Further checks on the typed value; return an error message or undefined. */
	check?: (value: never) => string | undefined;
	/** A flag may be given several times and every value is kept (any other flag given twice: the last one wins). */
	repeatable?: boolean;
};

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

export function parseFlags(
	program: string,
	specs: readonly FlagSpec[],
	argv: readonly string[],
	env: Readonly<Record<string, string | undefined>>,
): {values: FlagValues; positionals: string[]; help: boolean} {
	const byName = new Map(specs.map(spec => [spec.name, spec]));
	const values: FlagValues = {};
	const positionals: string[] = [];
	let help = false;

	for (let index = 0; index < argv.length; index++) {
		const argument = argv[index]!;
		if (argument === '--help' || argument === '-h') {
			help = true;
			continue;
		}

		if (!argument.startsWith('--')) {
			if (argument.startsWith('-') && argument !== '-') {
				throw new UsageError(`${program}: unknown option "${argument}"; see ${program} --help`);
			}

			positionals.push(argument);
			continue;
		}

		const equals = argument.indexOf('=');
		const name = argument.slice(2, equals === -1 ? undefined : equals);
		const spec = byName.get(name);
		if (!spec) {
			throw new UsageError(`${program}: unknown option "--${name}"; see ${program} --help`);
		}

		let raw: string;
		if (spec.kind === 'boolean') {
			raw = equals === -1 ? 'true' : argument.slice(equals + 1);
		} else if (equals === -1) {
			const next = argv[index + 1];
			if (next === undefined || (next.startsWith('--') && next.length > 2)) {
				throw new UsageError(`${program}: --${name} needs a value (${spec.valueName ?? spec.kind})`);
			}

			raw = next;
			index++;
		} else {
			raw = argument.slice(equals + 1);
		}

		const value = convert(program, spec, raw, `--${name}`);
		if (spec.repeatable) {
			const list = (values[name] as string[] | undefined) ?? [];
			list.push(String(value));
			values[name] = list;
		} else {
			// Given twice, the last one wins (as with getopt and util.parseArgs): a script can append an override.
			values[name] = value;
		}
	}

	for (const spec of specs) {
		if (values[spec.name] !== undefined) {
			continue;
		}

		const fromEnv = spec.env ? env[spec.env] : undefined;
		if (fromEnv !== undefined && fromEnv !== '') {
			const value = convert(program, spec, fromEnv, spec.env!);
			values[spec.name] = spec.repeatable ? String(value).split(';').filter(Boolean) : value;
		} else if (spec.default !== undefined) {
			values[spec.name] = spec.default;
		}
	}

	return {values, positionals, help};
}

function convert(program: string, spec: FlagSpec, raw: string, where: string): string | number | boolean {
	let value: string | number | boolean;
	switch (spec.kind) {
		case 'boolean': {
			if (!['true', 'false', '1', '0'].includes(raw)) {
				throw new UsageError(`${program}: ${where}: expected true or false, got "${raw}"`);
			}

			value = raw === 'true' || raw === '1';
			break;
		}

		case 'number':
		case 'integer': {
			const number = raw.trim() === '' ? Number.NaN : Number(raw);
			if (!Number.isFinite(number) || (spec.kind === 'integer' && !Number.isSafeInteger(number))) {
				throw new UsageError(`${program}: ${where}: expected ${spec.kind === 'integer' ? 'a whole number' : 'a number'}, got "${raw}"`);
			}

			value = number;
			break;
		}

		case 'string': {
			value = raw;
			break;
		}
	}

	const problem = spec.check?.(value as never);
	if (problem) {
		throw new UsageError(`${program}: ${where}: ${problem}, got "${raw}"`);
	}

	return value;
}

export function formatHelp(usage: string, specs: readonly FlagSpec[]): string {
	const rows = specs.map(spec => {
		const left = `--${spec.name}${spec.kind === 'boolean' ? '' : ` <${spec.valueName ?? spec.kind}>`}`;
		const extras = [
			spec.default === undefined || spec.default === false ? undefined : `default ${String(spec.default)}`,
			spec.env ? `env ${spec.env}` : undefined,
			spec.repeatable ? 'may be given several times' : undefined,
		].filter(Boolean).join('; ');
		return {left, right: extras ? `${spec.description} (${extras})` : spec.description};
	});
	const width = Math.max(...rows.map(row => row.left.length)) + 2;
	return [
		usage, '', 'Options (a flag given twice: the last one wins):', ...rows.map(row => `  ${row.left.padEnd(width)}${row.right}`), `  ${'--help'.padEnd(width)}show this help`,
	].join('\n');
}

export const checks = {
	port: (value: number) => (value >= 0 && value <= 65_535 ? undefined : 'expected a port from 0 to 65535'),
	positive: (value: number) => (value > 0 ? undefined : 'expected a number > 0'),
	nonNegative: (value: number) => (value >= 0 ? undefined : 'expected a number >= 0'),
	httpUrl(value: string) {
		try {
			const url = new URL(value);
			return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : 'expected an http:// URL';
		} catch {
			return 'expected an http:// URL';
		}
	},
};
