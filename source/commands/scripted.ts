/** Scripted mode: one command per stdin line, one result per command, in order; no Ink here. */
import {createInterface} from 'node:readline';
import type {Readable, Writable} from 'node:stream';
import {parseCommand} from './command-parser.js';
import {failure, runCommand, type CommandResult} from './commands.js';
import {formatResult} from './format.js';
import type {PeerNode} from '../peer/peer-node.js';

/** Runs every line of `input`; resolves with the exit status: 0 when every command succeeded. */
export async function runScripted(node: PeerNode, input: Readable, output: Writable, {json}: {json: boolean}): Promise<number> {
	const print = (result: CommandResult) => {
		output.write(`${json ? JSON.stringify(result) : formatResult(result)}\n`);
	};

	let failed = 0;
	const lines = createInterface({input, crlfDelay: Number.POSITIVE_INFINITY, terminal: false});
	for await (const line of lines) {
		let result: CommandResult;
		try {
			const command = parseCommand(line);
			if (!command) {
				continue;
			}

			result = await runCommand(node, command);
		} catch (error) {
			result = failure('parse', error);
		}

		print(result);
		if (!result.ok) {
			failed++;
		}

		if (result.cmd === 'exit') {
			break;
		}
	}

	lines.close();
	return failed === 0 ? 0 : 1;
}
