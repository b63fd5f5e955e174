/** `xfs-peer demo`: placeholder until the TUI issue lands. */
export async function runDemo(_argv: string[]): Promise<number> {
	process.stdout.write('xfs-peer demo: the interactive demo network is not built yet; see README for running a tracker and peers by hand.\n');
	return 0;
}
