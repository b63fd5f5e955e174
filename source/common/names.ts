/**
 * Name records: the first publisher of a name owns it and signs, with its Ed25519 key, what the
 * name is (md5 and size) at a version; a new version moves the name. The shape follows BEP 44's
 * mutable items (public key, sequence number, signature over the value), the name in the signed
 * text as BEP 44's salt is, so a record cannot be moved to another name.
 */
import type {FileEntry, NameRecord} from './wire.js';
import {signText, verifyText, type Identity} from './signing.js';

export function nameRecordText({name, md5, size}: FileEntry, version: number): string {
	return `xfs-name-1\n${name}\n${md5}\n${size}\n${version}`;
}

export function signNameRecord(identity: Identity, entry: FileEntry, version: number): Required<NameRecord> {
	return {owner: identity.publicKey, version, sig: signText(identity, nameRecordText(entry, version))};
}

export function verifyNameRecord(entry: FileEntry, {owner, version, sig}: {owner: string; version: number; sig: string}): boolean {
	return verifyText(owner, nameRecordText(entry, version), sig);
}
