/** Scripted mode: one command per stdin line, one result per command, in order; no Ink here. */
import {createInterface} from 'node:readline';
import type {Readable, Writable} from 'node:stream';
import {XfsError} from '../common/errors.js';
import type {PeerNode} from '../peer/peer-node.js';
import {parseCommand} from './command-parser.js';
import {failure, runCommand, type CommandResult} from './commands.js';
import {formatResult} from './format.js';

export type ScriptedOptions = {
	json: boolean;
	/** Aborted by SIGINT/SIGTERM: the command in flight is reported as cancelled and no further line is read. */
	signal?: AbortSignal;
};

/** Runs every line of `input`; resolves with the exit status: 0 when every command succeeded. */
export async function runScripted(node: PeerNode, input: Readable, output: Writable, {json, signal}: ScriptedOptions): Promise<number> {
	const print = (result: CommandResult) => {
		output.write(`${json ? JSON.stringify(result) : formatResult(result)}\n`);
	};

	const cancelled = new Promise<'cancelled'>(resolve => {
		if (signal?.aborted) {
			resolve('cancelled');
		}

		signal?.addEventListener('abort', () => {
			resolve('cancelled');
		}, {once: true});
	});
	let failed = 0;
	const lines = createInterface({input, crlfDelay: Number.POSITIVE_INFINITY, terminal: false});
	try {
		for await (const line of lines) {
			if (signal?.aborted) {
				break;
			}

			let result: CommandResult;
			try {
				const command = parseCommand(line);
				if (!command) {
					continue;
				}

				const outcome = await Promise.race([runCommand(node, command), cancelled]);
				result = outcome === 'cancelled'
					? failure(command.cmd, new XfsError('CANCELLED', `${command.cmd} cancelled: the peer was told to stop (${String(signal?.reason ?? 'signal')})`))
					: outcome;
			} catch (error) {
				result = failure('parse', error);
			}

			print(result);
			if (!result.ok) {
				failed++;
			}

			if (result.cmd === 'exit' || signal?.aborted) {
				break;
			}
		}
	} finally {
		lines.close();
	}

	return failed === 0 ? 0 : 1;
}
