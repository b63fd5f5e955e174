/**
 * Wire types of the tracker and peer HTTP protocol and their validation.
 * Both programs import this module; every parser throws BadInputError.
 */
import {BadInputError, XfsError} from './errors.js';

export type FileEntry = {name: string; md5: string; size: number};
/** The whole list; `version` (default 0) is the version incremental updates start from. */
export type UpdateListBody = {url: string; files: FileEntry[]; version?: number};
export type UpdateListReply = {epoch: string; ttlMs: number; version: number};
/** An incremental update: from version `from` (the one the tracker holds) to `to`, entries added or changed and names removed. */
export type ListUpdateBody = {from: number; to: number; add: FileEntry[]; remove: string[]};
export type ListUpdateReply = {epoch: string; version: number};
/** `reachable: false`: the tracker's probe of the peer's URL failed, so it is not offered in Find. */
export type HeartbeatReply = {epoch: string; known: boolean; reachable?: false};
export type HolderRef = {id: string; url: string};
export type FindReply = {name: string; md5: string; size: number; peers: HolderRef[]};
export type FileSummary = {name: string; md5: string; size: number; holders: number};
export type FilesReply = {files: FileSummary[]};
export type PeerSummary = {id: string; url: string; files: number; lastSeenMsAgo: number};
export type PeersReply = {peers: PeerSummary[]};
export type LoadReply = {id: string; load: number};
/** A peer's own list (GET /files on a peer) and one name of it (GET /files/:name/info). */
export type PeerFilesList = {id: string; files: FileEntry[]};
export type PeerFileInfo = {id: string; name: string; md5: string; size: number};
export type HealthReply = {ok: true; epoch: string; peers: number; files: number};
export type SuspectReply = {dropped: boolean};

/** The header a downloader names itself in (machID): the holder emulates the latency between the two. */
export const requesterHeader = 'x-xfs-peer';

export const maxNameLength = 255;
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

export function parseFileEntry(value: unknown, where: string): FileEntry {
	const object = parseObject(value, where);
	return {
		name: parseFileName(object.name, `${where}.name`),
		md5: parseMd5(object.md5, `${where}.md5`),
		size: parseSize(object.size, `${where}.size`),
	};
}

/** The same checks as parseFileEntry without building its error context: a list of 10 000 entries is checked in one pass. */
function isFileEntry(value: unknown): value is FileEntry {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		return false;
	}

	const {name, md5, size} = value as Record<string, unknown>;
	return isValidFileName(name) && typeof md5 === 'string' && md5Pattern.test(md5) && isSize(size);
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

	// The entries are taken as parsed, not copied: the tracker keeps only their name, md5 and size.
	const files = object.files as FileEntry[];
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
	};
}

export function parseHealthReply(value: unknown): HealthReply {
	const object = parseObject(value, 'reply');
	if (object.ok !== true) {
		throw new BadInputError('reply.ok: expected true');
	}

	return {ok: true, epoch: parseString(object.epoch, 'reply.epoch'), peers: parseSize(object.peers, 'reply.peers'), files: parseSize(object.files, 'reply.files')};
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

	return {
		name: parseFileName(object.name, 'reply.name'),
		md5: parseMd5(object.md5, 'reply.md5'),
		size: parseSize(object.size, 'reply.size'),
		peers: object.peers.map((peer: unknown, index: number) => parseHolderRef(peer, `reply.peers[${index}]`)),
	};
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
			const file = parseFileEntry(entry, `reply.files[${index}]`);
			const holders = parseSize((entry as Record<string, unknown>).holders, `reply.files[${index}].holders`);
			return {...file, holders};
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

/** GET /files/:name/parts on a peer: the md5 of each fixed-size part of a file. */
export type PartsReply = {name: string; size: number; partSize: number; md5s: string[]};
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

	return {
		name: parseFileName(object.name, 'reply.name'),
		size: parseSize(object.size, 'reply.size'),
		partSize,
		md5s: object.md5s.map((md5: unknown, index: number) => parseMd5(md5, `reply.md5s[${index}]`)),
	};
}
