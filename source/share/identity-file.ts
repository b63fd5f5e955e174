/** The peer's key pair on disk: `.xfs/identity.pem` in the share dir, created at first start with mode 0600. */
import fs from 'node:fs/promises';
import path from 'node:path';
import {LocalFaultError, localFault} from '../common/errors.js';
import {createIdentity, identityFromPem, identityToPem, type Identity} from '../common/signing.js';
import {stateDirName} from './share-dir.js';

export const identityFileName = 'identity.pem';

export function identityPath(shareDir: string): string {
	return path.join(shareDir, stateDirName, identityFileName);
}

/** Loads the share dir's key pair, or creates it (readable by this user only); `created` tells which. */
export async function loadIdentity(shareDir: string): Promise<{identity: Identity; created: boolean; file: string}> {
	const file = identityPath(shareDir);
	try {
		const pem = await fs.readFile(file, 'utf8');
		try {
			return {identity: identityFromPem(pem), created: false, file};
		} catch (error) {
			throw new LocalFaultError('LOCAL_IO', file, `${file} is not this peer's key pair (${(error as Error).message}); remove it to make a new one (the tracker then sees a new peer)`, {cause: error});
		}
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
			throw localFault(error, file, 'read') ?? error;
		}
	}

	const identity = createIdentity();
	try {
		await fs.mkdir(path.dirname(file), {recursive: true});
		// 'wx': two peers starting on one share dir at once keep the first key written.
		await fs.writeFile(file, identityToPem(identity), {mode: 0o600, flag: 'wx'});
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
			return loadIdentity(shareDir);
		}

		throw localFault(error, file, 'write') ?? error;
	}

	return {identity, created: true, file};
}
