/**
 * Wire types of the tracker and peer HTTP protocol and their validation.
 * Both programs import this module; every parser throws BadInputError.
 */
import {BadInputError, XfsError} from './errors.js';
import {isSessionId, isSessionOffer} from './signing.js';

/** `pinned: r`: the holder keeps this file as one of r replicas (see Replication in the README). */
export type FileEntry = {name: string; md5: string; size: number; pinned?: number};
/**
 * The owner's signed claim on a name (after BEP 44's mutable items: key, sequence number,
 * signature): `owner` (Ed25519 key) says name is this md5 and size at `version`. Every copy of a
 * file carries its owner's record; on the owner's own entries `owner` may be left out (the
 * signed request says who). See names.ts.
 */
export type NameRecord = {owner?: string; version: number; sig: string};
/** A list entry with its name record, as peers send them. */
export type RecordedEntry = FileEntry & Partial<NameRecord>;
/** The whole list; `version` (default 0) is the version incremental updates start from. */
export type UpdateListBody = {url: string; files: RecordedEntry[]; version?: number};
/** `session`: the tracker's answer to a session offer (its id, and the tracker's X25519 public key). */
export type UpdateListReply = {epoch: string; ttlMs: number; version: number; session?: {id: string; key: string}};
/** An incremental update: from version `from` (the one the tracker holds) to `to`, entries added or changed and names removed. */
export type ListUpdateBody = {from: number; to: number; add: RecordedEntry[]; remove: string[]};
export type ListUpdateReply = {epoch: string; version: number};
/** `reachable: false`: the tracker's probe of the peer's URL failed, so it is not offered in Find. */
export type HeartbeatReply = {epoch: string; known: boolean; reachable?: false};
export type HolderRef = {id: string; url: string};
/** A peer still downloading a file by parts: it serves the `have` parts of `of` it has verified. */
export type PartialHolderRef = HolderRef & {have: number; of: number};
/**
 * `owner`, `version` and `sig`: the name record of the content offered, when its owner signed one.
 * `partial`: peers still downloading this version of the file (present when there are any).
 * `pinned` and `copies` (the ids of the holders that keep it pinned) only for a pinned file.
 */
export type FindReply = {
	name: string; md5: string; size: number; peers: HolderRef[]; owner?: string; version?: number; sig?: string; partial?: PartialHolderRef[]; pinned?: number; copies?: string[];
};
/** One file a peer is downloading by parts, as it tells the tracker: `have` of `of` parts verified. */
export type PartialEntry = FileEntry & {have: number; of: number};
/** PUT /peers/:id/partial: every file this peer is downloading by parts now (an empty list: none); it replaces the last one. */
export type PartialBody = {files: PartialEntry[]};
export type PartialReply = {epoch: string; files: number};
export type FileSummary = {name: string; md5: string; size: number; holders: number; pinned?: number; copies?: number};
export type FilesReply = {files: FileSummary[]};
export type PeerSummary = {id: string; url: string; files: number; lastSeenMsAgo: number};
export type PeersReply = {peers: PeerSummary[]};
/** `uploaded`: bytes this peer has sent in file uploads since it started. */
export type LoadReply = {id: string; load: number; uploaded?: number};
/** A peer's own list (GET /files on a peer) and one name of it (GET /files/:name/info). */
export type PeerFilesList = {id: string; files: FileEntry[]};
/** `pinned: r` when the peer keeps the file as one of r replicas (what it publishes with the entry). */
export type PeerFileInfo = {id: string; name: string; md5: string; size: number; pinned?: number};
/** `secured`: whether the tracker checks a --secret MAC on writes (a peer says a mismatch at start). */
export type HealthReply = {ok: true; epoch: string; peers: number; files: number; secured?: boolean};
/** GET /identity?challenge=… on a peer: its key, and its signature of the challenge (signing.identityText). */
export type IdentityReply = {id: string; key: string; signature: string};
export type SuspectReply = {dropped: boolean};

/** The header a downloader names itself in (machID): the holder emulates the latency between the two. */
export const requesterHeader = 'x-xfs-peer';
/** Swarm: sent by a holder of the whole file with a whole part, the parts (indexes, comma-separated) it has sent least, for the downloader to ask for next (super-seeding). */
export const suggestHeader = 'x-xfs-suggest';

export const maxNameLength = 255;
/** The most replicas a file may be pinned to. */
export const maxReplicas = 16;
export const maxPeerIdLength = 64;
const nameCharacters = /^[A-Za-z\d._-]+$/;
const md5Pattern = /^[\da-f]{32}$/;

/** A shared file's name: 1-255 of [A-Za-z0-9._-], not hidden (a leading "."): hidden files are never listed or served. */
export function isValidFileName(name: unknown): name is string {
	return typeof name === 'string'
		&& name.length > 0
		&& name.length <= maxNameLength
		&& !name.startsWith('.')
		&& nameCharacters.test(name);
}

export function parseFileName(name: unknown, what = 'file name'): string {
	if (!isValidFileName(name)) {
		const hidden = typeof name === 'string' && name.startsWith('.') && name !== '.' && name !== '..' && nameCharacters.test(name);
		throw new BadInputError(hidden
			? `invalid ${what} ${describe(name)}: a name with a leading "." is hidden, never shared`
			: `invalid ${what} ${describe(name)}: use 1-${maxNameLength} of [A-Za-z0-9._-], not starting with "."`);
	}

	return name;
}

export function isValidPeerId(id: unknown): id is string {
	return typeof id === 'string'
		&& id.length > 0
		&& id.length <= maxPeerIdLength
		&& id !== '.'
		&& id !== '..'
		&& nameCharacters.test(id);
}

export function parsePeerId(id: unknown): string {
	if (!isValidPeerId(id)) {
		throw new BadInputError(`invalid peer id ${describe(id)}: use 1-${maxPeerIdLength} of [A-Za-z0-9._-]`);
	}

	return id;
}

export function parseMd5(md5: unknown, where = 'md5'): string {
	if (typeof md5 !== 'string' || !md5Pattern.test(md5)) {
		throw new BadInputError(`${where}: expected 32 lowercase hex digits, got ${describe(md5)}`);
	}

	return md5;
}

export function parseSize(size: unknown, where = 'size'): number {
	if (!isSize(size)) {
		throw new BadInputError(`${where}: expected a whole number of bytes >= 0, got ${describe(size)}`);
	}

	return size;
}

export function parsePeerUrl(url: unknown, where = 'url'): string {
	if (typeof url !== 'string' || url.length > 2048) {
		throw new BadInputError(`${where}: expected an http(s) URL string`);
	}

	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch (error) {
		throw new BadInputError(`${where}: not a URL: ${describe(url)}`, {cause: error});
	}

	if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
		throw new BadInputError(`${where}: expected http: or https:, got ${parsed.protocol}`);
	}

	if (parsed.username || parsed.password || parsed.search || parsed.hash) {
		throw new BadInputError(`${where}: must be a plain origin like http://host:port`);
	}

	return parsed.origin;
}

export type WireLimits = {maxFilesPerPeer: number; maxChangesPerUpdate: number};
/** An incremental update carries at most 1000 changes (about 100 KB): a burst goes as a few of them. */
export const defaultWireLimits: WireLimits = {maxFilesPerPeer: 100_000, maxChangesPerUpdate: 1000};

export function parseFileEntry(value: unknown, where: string): RecordedEntry {
	const object = parseObject(value, where);
	const entry: RecordedEntry = {
		name: parseFileName(object.name, `${where}.name`),
		md5: parseMd5(object.md5, `${where}.md5`),
		size: parseSize(object.size, `${where}.size`),
	};
	if (object.version !== undefined || object.sig !== undefined || object.owner !== undefined) {
		Object.assign(entry, parseRecordFields(object, where));
	}

	if (object.pinned !== undefined) {
		entry.pinned = parseReplicas(object.pinned, `${where}.pinned`);
	}

	return entry;
}

const keyPattern = /^[\w-]{43}$/;
const sigPattern = /^[\w-]{86}$/;

/** The name record's fields of an entry or a Find reply: a version, a signature, and the owner's key unless left out. */
function parseRecordFields(object: Record<string, unknown>, where: string): NameRecord {
	const version = parseVersion(object.version, `${where}.version`);
	if (typeof object.sig !== 'string' || !sigPattern.test(object.sig)) {
		throw new BadInputError(`${where}.sig: expected an Ed25519 signature (86 base64url characters)`);
	}

	if (object.owner !== undefined && (typeof object.owner !== 'string' || !keyPattern.test(object.owner))) {
		throw new BadInputError(`${where}.owner: expected an Ed25519 public key (43 base64url characters)`);
	}

	return object.owner === undefined ? {version, sig: object.sig} : {owner: object.owner as string, version, sig: object.sig};
}

function hasValidRecord(object: Record<string, unknown>): boolean {
	const {version, sig, owner} = object;
	if (version === undefined && sig === undefined && owner === undefined) {
		return true;
	}

	return typeof version === 'number' && Number.isSafeInteger(version) && version >= 0
		&& typeof sig === 'string' && sigPattern.test(sig)
		&& (owner === undefined || (typeof owner === 'string' && keyPattern.test(owner)));
}

export function isReplicaCount(value: unknown): value is number {
	return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= maxReplicas;
}

/** A replica count r: a whole number from 1 to maxReplicas. */
export function parseReplicas(value: unknown, where: string): number {
	if (!isReplicaCount(value)) {
		throw new BadInputError(`${where}: expected a whole number from 1 to ${maxReplicas}, got ${describe(value)}`);
	}

	return value;
}

/** The same checks as parseFileEntry without building its error context: a list of 10 000 entries is checked in one pass. */
function isFileEntry(value: unknown): value is FileEntry {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		return false;
	}

	const {name, md5, size, pinned} = value as Record<string, unknown>;
	return isValidFileName(name) && typeof md5 === 'string' && md5Pattern.test(md5) && isSize(size) && (pinned === undefined || isReplicaCount(pinned)) && hasValidRecord(value as Record<string, unknown>);
}

function isSize(size: unknown): size is number {
	return typeof size === 'number' && Number.isSafeInteger(size) && size >= 0;
}

export function parseUpdateListBody(value: unknown, limits: Pick<WireLimits, 'maxFilesPerPeer'> = defaultWireLimits): UpdateListBody {
	const object = parseObject(value, 'body');
	const url = parsePeerUrl(object.url, 'body.url');
	const version = object.version === undefined ? 0 : parseVersion(object.version, 'body.version');
	if (!Array.isArray(object.files)) {
		throw new BadInputError('body.files: expected an array of {name, md5, size}');
	}

	if (object.files.length > limits.maxFilesPerPeer) {
		throw new XfsError('TOO_LARGE', `body.files: ${object.files.length} files, the limit is ${limits.maxFilesPerPeer} per peer`);
	}

	// The entries are taken as parsed, not copied: the tracker keeps only their name, md5, size and record.
	const files = object.files as RecordedEntry[];
	// A list sorted by name (as peers send it) has no name twice; only an unsorted one needs a set to tell.
	let sorted = true;
	for (let index = 0; index < files.length; index++) {
		const entry: unknown = files[index];
		if (!isFileEntry(entry)) {
			// Throws, naming the first bad field.
			parseFileEntry(entry, `body.files[${index}]`);
			throw new BadInputError(`body.files[${index}]: expected {name, md5, size}`);
		}

		sorted &&= index === 0 || files[index - 1]!.name < files[index]!.name;
	}

	if (!sorted) {
		const seen = new Set<string>();
		for (const [index, {name}] of files.entries()) {
			if (seen.has(name)) {
				throw new BadInputError(`body.files[${index}].name: "${name}" is listed twice`);
			}

			seen.add(name);
		}
	}

	return {url, files, version};
}

/** A list version: a whole number from 0 to 2^53 - 1. */
export function parseVersion(value: unknown, where: string): number {
	if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
		throw new BadInputError(`${where}: expected a whole number >= 0, got ${describe(value)}`);
	}

	return value;
}

export function parseListUpdateBody(value: unknown, limits: Pick<WireLimits, 'maxChangesPerUpdate'> = defaultWireLimits): ListUpdateBody {
	const object = parseObject(value, 'body');
	const from = parseVersion(object.from, 'body.from');
	const to = parseVersion(object.to, 'body.to');
	if (to <= from) {
		throw new BadInputError(`body.to: expected a version above body.from (${from}), got ${to}`);
	}

	const add: unknown = object.add ?? [];
	const remove: unknown = object.remove ?? [];
	if (!Array.isArray(add) || !Array.isArray(remove)) {
		throw new BadInputError('body.add and body.remove: expected arrays of {name, md5, size} and of names');
	}

	if (add.length + remove.length > limits.maxChangesPerUpdate) {
		throw new XfsError('TOO_LARGE', `body: ${add.length + remove.length} changes, the limit is ${limits.maxChangesPerUpdate} per update; send the whole list or several updates`);
	}

	const names = new Set<string>();
	const once = (name: string, where: string) => {
		if (names.has(name)) {
			throw new BadInputError(`${where}: "${name}" is changed twice in one update`);
		}

		names.add(name);
	};

	const entries = add.map((entry, index) => {
		const parsed = parseFileEntry(entry, `body.add[${index}]`);
		once(parsed.name, `body.add[${index}].name`);
		return parsed;
	});
	const removed = remove.map((name, index) => {
		const parsed = parseFileName(name, `body.remove[${index}]`);
		once(parsed, `body.remove[${index}]`);
		return parsed;
	});
	return {from, to, add: entries, remove: removed};
}

export function parseListUpdateReply(value: unknown): ListUpdateReply {
	const object = parseObject(value, 'reply');
	return {epoch: parseString(object.epoch, 'reply.epoch'), version: parseVersion(object.version, 'reply.version')};
}

export function parseUpdateListReply(value: unknown): UpdateListReply {
	const object = parseObject(value, 'reply');
	return {
		epoch: parseString(object.epoch, 'reply.epoch'),
		ttlMs: parseSize(object.ttlMs, 'reply.ttlMs'),
		// A tracker that predates list versions holds version 0.
		version: object.version === undefined ? 0 : parseVersion(object.version, 'reply.version'),
		...(object.session === undefined ? {} : {session: parseSessionReply(object.session)}),
	};
}

function parseSessionReply(value: unknown): {id: string; key: string} {
	const object = parseObject(value, 'reply.session');
	if (!isSessionId(object.id) || !isSessionOffer(object.key)) {
		throw new BadInputError('reply.session: expected {id: 32 hex digits, key: an X25519 key in base64url}');
	}

	return {id: object.id, key: object.key};
}

export function parseHealthReply(value: unknown): HealthReply {
	const object = parseObject(value, 'reply');
	if (object.ok !== true) {
		throw new BadInputError('reply.ok: expected true');
	}

	const reply: HealthReply = {ok: true, epoch: parseString(object.epoch, 'reply.epoch'), peers: parseSize(object.peers, 'reply.peers'), files: parseSize(object.files, 'reply.files')};
	if (typeof object.secured === 'boolean') {
		reply.secured = object.secured;
	}

	return reply;
}

export function parseIdentityReply(value: unknown): IdentityReply {
	const object = parseObject(value, 'reply');
	return {id: parsePeerId(object.id), key: parseString(object.key, 'reply.key'), signature: parseString(object.signature, 'reply.signature')};
}

export function parseHeartbeatReply(value: unknown): HeartbeatReply {
	const object = parseObject(value, 'reply');
	if (typeof object.known !== 'boolean') {
		throw new BadInputError('reply.known: expected a boolean');
	}

	return object.reachable === false
		? {epoch: parseString(object.epoch, 'reply.epoch'), known: object.known, reachable: false}
		: {epoch: parseString(object.epoch, 'reply.epoch'), known: object.known};
}

export function parseFindReply(value: unknown): FindReply {
	const object = parseObject(value, 'reply');
	if (!Array.isArray(object.peers)) {
		throw new BadInputError('reply.peers: expected an array');
	}

	const reply: FindReply = {
		name: parseFileName(object.name, 'reply.name'),
		md5: parseMd5(object.md5, 'reply.md5'),
		size: parseSize(object.size, 'reply.size'),
		peers: object.peers.map((peer: unknown, index: number) => parseHolderRef(peer, `reply.peers[${index}]`)),
	};
	if (object.partial !== undefined) {
		if (!Array.isArray(object.partial)) {
			throw new BadInputError('reply.partial: expected an array');
		}

		reply.partial = object.partial.map((entry: unknown, index: number) => {
			const where = `reply.partial[${index}]`;
			const {have, of} = parseHaveOf(parseObject(entry, where), where);
			return {...parseHolderRef(entry, where), have, of};
		});
	}

	if (object.sig !== undefined) {
		const record = parseRecordFields(object, 'reply');
		if (record.owner === undefined) {
			throw new BadInputError('reply.owner: expected the name\'s owner with its record');
		}

		Object.assign(reply, record);
	}

	if (object.pinned !== undefined) {
		reply.pinned = parseReplicas(object.pinned, 'reply.pinned');
		reply.copies = Array.isArray(object.copies) ? object.copies.map(id => parsePeerId(id)) : [];
	}

	return reply;
}

/** Most files one peer may list as downloading at once. */
export const maxPartialFilesPerPeer = 64;

function parseHaveOf(object: Record<string, unknown>, where: string): {have: number; of: number} {
	const of = parseSize(object.of, `${where}.of`);
	const have = parseSize(object.have, `${where}.have`);
	if (of === 0 || of > maxPartsPerFile || have > of) {
		throw new BadInputError(`${where}: expected 0 <= have <= of, 1 <= of <= ${maxPartsPerFile}; got have ${have}, of ${of}`);
	}

	return {have, of};
}

export function parsePartialBody(value: unknown): PartialBody {
	const object = parseObject(value, 'body');
	if (!Array.isArray(object.files)) {
		throw new BadInputError('body.files: expected an array of {name, md5, size, have, of}');
	}

	if (object.files.length > maxPartialFilesPerPeer) {
		throw new XfsError('TOO_LARGE', `body.files: ${object.files.length} files, the limit is ${maxPartialFilesPerPeer} downloads in progress per peer`);
	}

	const names = new Set<string>();
	return {
		files: object.files.map((entry: unknown, index: number) => {
			const where = `body.files[${index}]`;
			const file = parseFileEntry(entry, where);
			if (names.has(file.name)) {
				throw new BadInputError(`${where}.name: "${file.name}" is listed twice`);
			}

			names.add(file.name);
			return {...file, ...parseHaveOf(entry as Record<string, unknown>, where)};
		}),
	};
}

export function parsePartialReply(value: unknown): PartialReply {
	const object = parseObject(value, 'reply');
	return {epoch: parseString(object.epoch, 'reply.epoch'), files: parseSize(object.files, 'reply.files')};
}

export function parseHolderRef(value: unknown, where: string): HolderRef {
	const object = parseObject(value, where);
	return {id: parsePeerId(object.id), url: parsePeerUrl(object.url, `${where}.url`)};
}

export function parseFilesReply(value: unknown): FilesReply {
	const object = parseObject(value, 'reply');
	if (!Array.isArray(object.files)) {
		throw new BadInputError('reply.files: expected an array');
	}

	return {
		files: object.files.map((entry: unknown, index: number) => {
			const file: FileSummary = {...parseFileEntry(entry, `reply.files[${index}]`), holders: parseSize((entry as Record<string, unknown>).holders, `reply.files[${index}].holders`)};
			if (file.pinned !== undefined) {
				file.copies = parseSize((entry as Record<string, unknown>).copies ?? 0, `reply.files[${index}].copies`);
			}

			return file;
		}),
	};
}

export function parsePeersReply(value: unknown): PeersReply {
	const object = parseObject(value, 'reply');
	if (!Array.isArray(object.peers)) {
		throw new BadInputError('reply.peers: expected an array');
	}

	return {
		peers: object.peers.map((entry: unknown, index: number) => {
			const where = `reply.peers[${index}]`;
			const peer = parseObject(entry, where);
			return {
				...parseHolderRef(peer, where),
				files: parseSize(peer.files, `${where}.files`),
				lastSeenMsAgo: parseSize(peer.lastSeenMsAgo, `${where}.lastSeenMsAgo`),
			};
		}),
	};
}

export function parsePeerFileInfo(value: unknown): PeerFileInfo {
	const object = parseObject(value, 'reply');
	return {id: parsePeerId(object.id), ...parseFileEntry(object, 'reply')};
}

/** A peer's list as it sends it: at most `maxFiles` entries are read. */
export function parsePeerFilesList(value: unknown, maxFiles = 100_000): PeerFilesList {
	const object = parseObject(value, 'reply');
	if (!Array.isArray(object.files) || object.files.length > maxFiles) {
		throw new BadInputError(`reply.files: expected an array of at most ${maxFiles}`);
	}

	return {id: parsePeerId(object.id), files: object.files.map((entry: unknown, index: number) => parseFileEntry(entry, `reply.files[${index}]`))};
}

export function parseLoadReply(value: unknown): LoadReply {
	const object = parseObject(value, 'reply');
	return {id: parsePeerId(object.id), load: parseSize(object.load, 'reply.load')};
}

export function parseObject(value: unknown, where: string): Record<string, unknown> {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		throw new BadInputError(`${where}: expected a JSON object`);
	}

	return value as Record<string, unknown>;
}

function parseString(value: unknown, where: string): string {
	if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
		throw new BadInputError(`${where}: expected a non-empty string`);
	}

	return value;
}

/** A value as an error message shows it: strings quoted and cut, numbers and booleans as they are, other things by type. */
function describe(value: unknown): string {
	if (typeof value === 'string') {
		const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
		return JSON.stringify(shown);
	}

	if (typeof value === 'number' || typeof value === 'boolean') {
		return String(value);
	}

	return value === null ? 'null' : (Array.isArray(value) ? 'an array' : typeof value);
}

/**
 * GET /files/:name/parts on a peer: the md5 of each fixed-size part of a file. A peer still
 * downloading the file adds `partial`: the parts it has verified and serves (`bitmap`, see part-map.ts).
 */
export type PartsReply = {name: string; size: number; partSize: number; md5s: string[]; partial?: {have: number; of: number; bitmap: string}};
/** A parts list longer than this is refused (1 TiB in 1 MiB parts). */
export const maxPartsPerFile = 1 << 20;

export function parsePartsReply(value: unknown): PartsReply {
	const object = parseObject(value, 'reply');
	const partSize = parseSize(object.partSize, 'reply.partSize');
	if (partSize === 0) {
		throw new BadInputError('reply.partSize: expected a whole number of bytes > 0');
	}

	if (!Array.isArray(object.md5s) || object.md5s.length > maxPartsPerFile) {
		throw new BadInputError(`reply.md5s: expected an array of at most ${maxPartsPerFile} md5s`);
	}

	const reply: PartsReply = {
		name: parseFileName(object.name, 'reply.name'),
		size: parseSize(object.size, 'reply.size'),
		partSize,
		md5s: object.md5s.map((md5: unknown, index: number) => parseMd5(md5, `reply.md5s[${index}]`)),
	};
	if (object.partial !== undefined) {
		const partial = parseObject(object.partial, 'reply.partial');
		const {have, of} = parseHaveOf(partial, 'reply.partial');
		if (of !== reply.md5s.length || typeof partial.bitmap !== 'string' || partial.bitmap.length > maxPartsPerFile) {
			throw new BadInputError('reply.partial: expected {have, of, bitmap} with of = the number of md5s');
		}

		reply.partial = {have, of, bitmap: partial.bitmap};
	}

	return reply;
}

/**
 * POST /replicas on a peer: keep (or with `unpin`, stop keeping) a pinned copy of one version of a file; `from` names the asker (a claim, not proof).
 * `via`: another peer asked for a copy at the same time, whose parts this one takes as they land (swarm) rather than share the holders' upload with it.
 */
export type ReplicaRequestBody = {name: string; md5: string; size: number; r: number; owner?: string; unpin?: true; from?: string; via?: string};

export function parseReplicaRequestBody(value: unknown): ReplicaRequestBody {
	const object = parseObject(value, 'body');
	const body: ReplicaRequestBody = {
		name: parseFileName(object.name, 'body.name'),
		md5: parseMd5(object.md5, 'body.md5'),
		size: parseSize(object.size, 'body.size'),
		r: parseReplicas(object.r, 'body.r'),
	};
	if (object.owner !== undefined) {
		body.owner = parsePeerId(object.owner);
	}

	if (object.from !== undefined) {
		body.from = parsePeerId(object.from);
	}

	if (object.via !== undefined) {
		body.via = parsePeerId(object.via);
	}

	if (object.unpin === true) {
		body.unpin = true;
	}

	return body;
}
