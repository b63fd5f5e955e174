/** Putting a verified file into the share dir: linked into place, never over a file that is there, and the dir flushed. */
import fs from 'node:fs/promises';
import path from 'node:path';
import {XfsError} from '../common/errors.js';

/** Moves a verified temp file into place without ever replacing an existing file. */
export async function placeFile(tempPath: string, finalPath: string): Promise<void> {
	try {
		// link() fails with EEXIST instead of overwriting, which rename() would do.
		await fs.link(tempPath, finalPath);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
			throw new XfsError('ALREADY_HAVE', `${path.basename(finalPath)} appeared in the share dir during the download; kept the existing file`);
		}

		throw error;
	}

	await fs.rm(tempPath, {force: true});
	const directory = await fs.open(path.dirname(finalPath), 'r');
	try {
		await directory.sync();
	} finally {
		await directory.close();
	}
}
