/** Plain-text rendering of command results for the scripted mode and the TUI's event log (pure). */
import type {CommandResult} from './commands.js';

export function formatBytes(bytes: number): string {
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let value = bytes;
	let unit = 0;
	while (value >= 1024 && unit < units.length - 1) {
		value /= 1024;
		unit++;
	}

	return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Who a list comes from: the tracker, or (no tracker) the peers that answered. */
function knownBy(viewFrom: number | undefined): string {
	return viewFrom === undefined ? 'known to the tracker' : `in the view from ${viewFrom} peer${viewFrom === 1 ? '' : 's'} (no tracker)`;
}

function updateListText(files: number, to: 'dht' | undefined): string {
	const count = `${files} file${files === 1 ? '' : 's'}`;
	return to === 'dht' ? `updatelist: announced ${count} in the DHT` : `updatelist: sent ${count} to the tracker`;
}

export function formatResult(result: CommandResult): string {
	if (!result.ok) {
		const attempts = result.attempts?.length ? ` [${result.attempts.map(attempt => `${attempt.peer}: ${attempt.outcome}`).join(', ')}]` : '';
		return `${result.cmd}: error ${result.error.code}: ${result.error.message}${attempts}`;
	}

	switch (result.cmd) {
		case 'find': {
			const head = `find ${result.name}: ${result.peers.length} holder${result.peers.length === 1 ? '' : 's'} up, md5 ${result.md5}, ${formatBytes(result.size)}`
				+ (result.local ? ' (you hold it too)' : '')
				+ (result.stale ? ' (last known holders: tracker down)' : '')
				+ (result.down.length > 0 ? `; down: ${result.down.join(', ')}` : '')
				+ (result.pinned === undefined ? '' : `; pinned ${result.pinned}, copies ${result.copies?.length ?? 0}/${result.pinned}`);
			const rows = result.peers.map(peer => `  ${peer.id.padEnd(8)} ${peer.url.padEnd(28)} latency ${String(peer.latencyMs).padStart(5)} ms  load ${String(peer.load).padStart(2)}  cost ${String(peer.cost).padStart(6)}`);
			const partial = (result.partial ?? []).map(peer => `  ${peer.id.padEnd(8)} ${peer.url.padEnd(28)} partial: ${peer.have}/${peer.of} parts`);
			return [head, ...rows, ...partial].join('\n');
		}

		case 'download': {
			const tries = result.attempts.length === 1 ? '1 attempt' : `${result.attempts.length} attempts: ${result.attempts.map(attempt => `${attempt.peer} ${attempt.outcome}`).join(', ')}`;
			if (result.sources) {
				const from = result.sources.filter(source => source.parts > 0).map(source => `${source.id} (${source.parts} part${source.parts === 1 ? '' : 's'})`).join(', ');
				const reused = result.reused?.parts ? `; ${result.reused.parts} part${result.reused.parts === 1 ? '' : 's'} reused from an interrupted download` : '';
				return `download ${result.name}: saved ${result.path} (${formatBytes(result.size)}, md5 ${result.md5}) from ${from || 'no holder'}${reused}; ${tries}`;
			}

			return `download ${result.name}: saved ${result.path} (${formatBytes(result.size)}, md5 ${result.md5}) from ${result.from} after ${tries}`;
		}

		case 'put': {
			return `put ${result.name}: ${result.underReplicated ? `under-replicated ${result.underReplicated}` : `${result.replicas.length} verified copies`} on ${result.replicas.join(', ') || 'no peer'} (r ${result.r}, ${formatBytes(result.size)}, md5 ${result.md5})`;
		}

		case 'unpin': {
			return `unpin ${result.name}: no longer kept on r peers; ${result.unpinned.length} cop${result.unpinned.length === 1 ? 'y stays' : 'ies stay'} as ordinary shared files${result.unpinned.length > 0 ? ` (${result.unpinned.join(', ')})` : ''}`;
		}

		case 'getload': {
			return `getload ${result.id}: load ${result.load}`;
		}

		case 'updatelist': {
			return updateListText(result.files, result.to);
		}

		case 'files': {
			return [`files: ${result.files.length} ${knownBy(result.viewFrom)}`, ...result.files.map(file => `  ${file.name.padEnd(24)} ${formatBytes(file.size).padStart(9)}  ${file.holders} holder${file.holders === 1 ? '' : 's'}  ${file.md5}`)].join('\n');
		}

		case 'peers': {
			return [`peers: ${result.peers.length} ${knownBy(result.viewFrom)}`, ...result.peers.map(peer => `  ${peer.id.padEnd(8)} ${peer.url.padEnd(28)} ${peer.files} files  seen ${(peer.lastSeenMsAgo / 1000).toFixed(1)} s ago`)].join('\n');
		}

		case 'ls': {
			return [`ls: ${result.files.length} file${result.files.length === 1 ? '' : 's'} shared`, ...result.files.map(file => `  ${file.name.padEnd(24)} ${formatBytes(file.size).padStart(9)}  ${file.md5}`)].join('\n');
		}

		case 'help': {
			const width = Math.max(...result.commands.map(command => command.usage.length)) + 2;
			return ['commands:', ...result.commands.map(command => `  ${command.usage.padEnd(width)}${command.does}`)].join('\n');
		}

		case 'exit': {
			return 'bye';
		}
	}
}
