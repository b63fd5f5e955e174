import {randomBytes} from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes `dir/name` whole or not at all: a temp file in the same folder, then a rename over
 * the old one, so a reader (or a crash) never sees half a file. Creates the folder if needed.
 */
export async function writeFileAtomically(dir: string, name: string, text: string): Promise<void> {
	await fs.mkdir(dir, {recursive: true});
	const temp = path.join(dir, `${name}.${randomBytes(6).toString('hex')}.tmp`);
	try {
		await fs.writeFile(temp, text, {flag: 'wx'});
		await fs.rename(temp, path.join(dir, name));
	} catch (error) {
		await fs.rm(temp, {force: true});
		throw error;
	}
}
