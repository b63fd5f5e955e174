/** Runs a parsed command on a PeerNode and shapes the result; the TUI and the scripted mode share it. */
import {DownloadError, type Attempt, type DownloadResult} from '../transfer/download.js';
import {toErrorBody, type ErrorBody} from '../common/errors.js';
import type {FindResult, PeerNode} from '../peer/peer-node.js';
import type {PutResult, UnpinResult} from '../peer/replication.js';
import type {FileEntry, FileSummary, PeerSummary} from '../common/wire.js';
import {commandHelp, type Command, type CommandName} from './command-parser.js';

export type CommandResult =
	| ({cmd: 'find'; ok: true} & FindResult)
	| ({cmd: 'download'; ok: true} & DownloadResult)
	| ({cmd: 'put'; ok: true} & PutResult)
	| ({cmd: 'unpin'; ok: true} & UnpinResult)
	| {cmd: 'getload'; ok: true; id: string; load: number}
	| {cmd: 'updatelist'; ok: true; files: number; to?: 'dht'}
	| {cmd: 'files'; ok: true; files: FileSummary[]; viewFrom?: number}
	| {cmd: 'peers'; ok: true; peers: PeerSummary[]; viewFrom?: number}
	| {cmd: 'ls'; ok: true; files: FileEntry[]}
	| {cmd: 'help'; ok: true; commands: Array<{usage: string; does: string}>}
	| {cmd: 'exit'; ok: true}
	| CommandFailure;

export type CommandFailure = {cmd: CommandName | 'parse'; ok: false; error: ErrorBody; attempts?: Attempt[]};

export async function runCommand(node: PeerNode, command: Command): Promise<CommandResult> {
	try {
		switch (command.cmd) {
			case 'find': {
				return {cmd: 'find', ok: true, ...await node.find(command.name)};
			}

			case 'download': {
				return {cmd: 'download', ok: true, ...await node.download(command.name, command.md5)};
			}

			case 'put': {
				return {cmd: 'put', ok: true, ...await node.put(command)};
			}

			case 'unpin': {
				return {cmd: 'unpin', ok: true, ...await node.unpin(command.name)};
			}

			case 'getload': {
				return {cmd: 'getload', ok: true, ...await node.getLoad(command.target)};
			}

			case 'updatelist': {
				const files = (await node.updateList()).length;
				return node.config.trackerless ? {cmd: 'updatelist', ok: true, files, to: 'dht'} : {cmd: 'updatelist', ok: true, files};
			}

			case 'files': {
				return {cmd: 'files', ok: true, ...await node.networkFiles()};
			}

			case 'peers': {
				return {cmd: 'peers', ok: true, ...await node.networkPeers()};
			}

			case 'ls': {
				return {cmd: 'ls', ok: true, files: [...node.files]};
			}

			case 'help': {
				return {cmd: 'help', ok: true, commands: [...commandHelp]};
			}

			case 'exit': {
				return {cmd: 'exit', ok: true};
			}
		}
	} catch (error) {
		return failure(command.cmd, error);
	}
}

export function failure(cmd: CommandFailure['cmd'], error: unknown): CommandFailure {
	const result: CommandFailure = {cmd, ok: false, error: toErrorBody(error)};
	if (error instanceof DownloadError) {
		result.attempts = error.attempts;
	}

	return result;
}
