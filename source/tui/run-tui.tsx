/** The interactive mode: renders the Ink app until `exit` or Ctrl-C. Loaded only when stdin and stdout are terminals. */
import process from 'node:process';
import {render} from 'ink';
import type {PeerNode} from '../peer/peer-node.js';
import {App} from './app.js';
import {colorsEnabled} from './hooks/use-palette.js';

export async function runTui(node: PeerNode, {banner = []}: {banner?: readonly string[]} = {}): Promise<void> {
	const instance = render(<App node={node} banner={banner} colors={colorsEnabled(process.env)}/>, {exitOnCtrlC: true});
	await instance.waitUntilExit();
}
