/** One parser for the TUI prompt and the scripted mode (pure). */
import {BadInputError} from '../common/errors.js';
import {isValidPeerId, parseFileName, parseMd5} from '../common/wire.js';

export type LoadTarget = {kind: 'peer'; id: string} | {kind: 'address'; url: string};

export type Command =
	| {cmd: 'find'; name: string}
	/** `md5`: exactly that content (`download <name>@<md5>`), whoever owns the name. */
	| {cmd: 'download'; name: string; md5?: string}
	/** `path` when the argument names a file by its path (it has a "/"), which is copied into the share dir if outside it. */
	| {cmd: 'put'; name: string; path?: string}
	| {cmd: 'unpin'; name: string}
	| {cmd: 'getload'; target: LoadTarget}
	| {cmd: 'updatelist'}
	| {cmd: 'files'}
	| {cmd: 'peers'}
	| {cmd: 'ls'}
	| {cmd: 'help'}
	| {cmd: 'exit'};

export type CommandName = Command['cmd'];

export const commandHelp: ReadonlyArray<{usage: string; does: string}> = [
	{usage: 'find <name>', does: 'ask the tracker who holds a file; list holders with latency, load, cost'},
	{usage: 'download <name>[@<md5>]', does: 'fetch a file (its owner\'s latest version, or exactly that md5) from the cheapest holder, verify it, save it, updatelist'},
	{usage: 'get <name>[@<md5>]', does: 'the same as download'},
	{usage: 'put <name|path>', does: 'keep a file on r peers (--replicas), repaired when they die; a path is copied into the share dir first'},
	{usage: 'unpin <name>', does: 'stop keeping r copies of a file (the copies stay as ordinary shared files)'},
	{usage: 'getload <machID|host:port>', does: 'ask a peer how many transfers it is running'},
	{usage: 'updatelist', does: 'rescan the share dir and send the list to the tracker'},
	{usage: 'files', does: 'every file the tracker knows, with holder counts'},
	{usage: 'peers', does: 'every peer the tracker knows'},
	{usage: 'ls', does: 'this peer\'s own files'},
	{usage: 'help', does: 'this list'},
	{usage: 'exit', does: 'leave the tracker and quit'},
];

export const commandNames: ReadonlyArray<CommandName | 'get'> = ['find', 'download', 'get', 'put', 'unpin', 'getload', 'updatelist', 'files', 'peers', 'ls', 'help', 'exit'];

/** Parses one command line; returns undefined for a blank line. */
export function parseCommand(line: string): Command | undefined {
	const words = line.trim().split(/\s+/).filter(Boolean);
	if (words.length === 0) {
		return undefined;
	}

	const [verb, ...args] = words as [string, ...string[]];
	const cmd = verb.toLowerCase();
	switch (cmd) {
		case 'find': {
			expectArgs(cmd, args, 1, '<name>');
			return {cmd, name: parseFileName(args[0])};
		}

		case 'download':
		case 'get': {
			expectArgs(cmd, args, 1, '<name>[@<md5>]');
			const at = args[0]!.lastIndexOf('@');
			if (at === -1) {
				return {cmd: 'download', name: parseFileName(args[0])};
			}

			return {cmd: 'download', name: parseFileName(args[0]!.slice(0, at)), md5: parseMd5(args[0]!.slice(at + 1), `${cmd} "${truncate(args[0]!)}": the md5 after "@"`)};
		}

		case 'unpin': {
			expectArgs(cmd, args, 1, '<name>');
			return {cmd, name: parseFileName(args[0])};
		}

		case 'put': {
			expectArgs(cmd, args, 1, '<name|path>');
			const target = args[0]!;
			if (!target.includes('/')) {
				return {cmd, name: parseFileName(target)};
			}

			return {cmd, name: parseFileName(target.slice(target.lastIndexOf('/') + 1), 'file name (the last part of the path)'), path: target};
		}

		case 'getload': {
			expectArgs(cmd, args, 1, '<machID|host:port>');
			return {cmd, target: parseLoadTarget(args[0]!)};
		}

		case 'updatelist':
		case 'files':
		case 'peers':
		case 'ls':
		case 'help':
		case 'exit': {
			expectArgs(cmd, args, 0, '');
			return {cmd};
		}

		case 'quit': {
			expectArgs(cmd, args, 0, '');
			return {cmd: 'exit'};
		}

		default: {
			throw new BadInputError(`unknown command "${truncate(verb)}"; try: ${commandNames.join(', ')}`);
		}
	}
}

export function parseLoadTarget(text: string): LoadTarget {
	if (/^https?:\/\//i.test(text)) {
		return {kind: 'address', url: originOf(text, text)};
	}

	if (text.includes(':')) {
		return {kind: 'address', url: originOf(`http://${text}`, text)};
	}

	if (isValidPeerId(text)) {
		return {kind: 'peer', id: text};
	}

	throw new BadInputError(`getload: "${truncate(text)}" is neither a machID nor host:port`);
}

function originOf(text: string, given: string): string {
	let url: URL;
	try {
		url = new URL(text);
	} catch (error) {
		throw new BadInputError(`getload: "${truncate(given)}" is not a valid host:port`, {cause: error});
	}

	if (url.pathname !== '/' || url.search || url.hash || url.username || !url.port) {
		throw new BadInputError(`getload: "${truncate(given)}" must be host:port`);
	}

	return url.origin;
}

function expectArgs(cmd: string, args: string[], count: number, usage: string): void {
	if (args.length !== count) {
		const shape = usage ? `${cmd} ${usage}` : cmd;
		throw new BadInputError(`${cmd}: expected ${count === 0 ? 'no arguments' : `${count} argument`}; usage: ${shape}`);
	}
}

function truncate(text: string): string {
	return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
