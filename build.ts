/**
 * Builds the shipped programs into dist/: each program with its dependencies in a few ES
 * modules (a start loads a handful of files, not hundreds); Ink and React are in the TUI's
 * chunk, loaded only by the TUI. iconv-lite is left out: its tables are half the bundle's
 * text, which every start would parse, and they are read only to decode a request body (from
 * node_modules, where it is a dependency of its own). Every file lands in dist/source/ except
 * the tracker's entry, so code that finds files beside it (the share-dir thread, the package
 * root) finds them. The build is written beside outdir and swapped in whole: a failed build leaves
 * the last one as it was, and a program running from dist/ never sees it half written.
 *
 *   npm run build            (type-checks, then writes dist/)
 *   tsx build.ts [outdir]
 */
import {rename, rm} from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import {fileURLToPath} from 'node:url';
import {build} from 'esbuild';

const repoRoot = path.dirname(fileURLToPath(import.meta.url));

export async function buildPrograms(outdir = path.join(repoRoot, 'dist')): Promise<void> {
	const building = `${outdir}.building-${process.pid}`;
	const replaced = `${outdir}.old-${process.pid}`;
	try {
		await writePrograms(building);
		await rename(outdir, replaced).catch((error: unknown) => {
			if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
				throw error;
			}
		});
		await rename(building, outdir).catch(async (error: unknown) => {
			await rename(replaced, outdir).catch(() => {});
			throw error;
		});
	} finally {
		await rm(building, {recursive: true, force: true});
		await rm(replaced, {recursive: true, force: true});
	}
}

async function writePrograms(outdir: string): Promise<void> {
	await rm(outdir, {recursive: true, force: true});
	await build({
		entryPoints: [
			{in: 'source/cli.tsx', out: 'source/cli'},
			{in: 'tracker/cli.ts', out: 'tracker/cli'},
			// Loaded by file name on the share-dir thread (source/share/scan-thread.ts).
			{in: 'source/share/share-dir.ts', out: 'source/share-dir'},
			{in: 'source/common/errors.ts', out: 'source/errors'},
			{in: 'source/transfer/hashing-thread.ts', out: 'source/hashing-thread'}, // the hashing thread (source/transfer/hashing-sink.ts)
			{in: 'source/mount/part-hash-thread.ts', out: 'source/part-hash-thread'}, // the mount's part-checking thread (source/mount/part-hasher.ts)
		].map(entry => ({in: path.join(repoRoot, entry.in), out: entry.out})),
		outdir,
		chunkNames: 'source/[name]-[hash]',
		bundle: true,
		splitting: true,
		platform: 'node',
		format: 'esm',
		target: 'node20',
		// Ink's devtools (react-devtools-core, not installed) load only with DEV=true, as they would unbundled.
		// fuse-native is an optional native module, loaded from node_modules only by --mount.
		external: ['iconv-lite', 'react-devtools-core', 'fuse-native'],
		// Bundled CommonJS dependencies (express, pino) call require().
		banner: {js: 'import {createRequire as createRequireForBundle} from \'node:module\'; const require = createRequireForBundle(import.meta.url);'},
		logLevel: 'warning',
	});
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	await buildPrograms(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
}
