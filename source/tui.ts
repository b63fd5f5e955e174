/** Placeholder for the Ink TUI: a plain prompt over the same command layer until the TUI lands. */
import process from 'node:process';
import type {PeerNode} from './peer-node.js';
import {runScripted} from './scripted.js';

export async function runTui(node: PeerNode): Promise<void> {
	process.stdout.write('type a command (help for the list)\n');
	await runScripted(node, process.stdin, process.stdout, {json: false});
}
