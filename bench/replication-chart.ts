/**
 * Renders the replication study's chart from bench/results/replication-repair.csv: each trial's
 * repair time beside its bound, by file size (a Vega-Lite spec, saved too, rendered to SVG by Vega).
 * Run alone: tsx bench/replication-chart.ts [results dir]
 */
import {readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import {fileURLToPath} from 'node:url';
import * as vega from 'vega';
import {compile, type TopLevelSpec} from 'vega-lite';

/** CSV as saveCsv writes it: a leading `#` line (the machine), then a header. */
function parseResults(text: string): Array<Record<string, string>> {
	const [header, ...lines] = text.trim().split(/\r?\n/).filter(line => !line.startsWith('#'));
	const columns = header!.split(',');
	return lines.map(line => Object.fromEntries(line.split(',').map((cell, index) => [columns[index]!, cell])));
}

export function repairSpec(rows: ReadonlyArray<Record<string, string>>): TopLevelSpec {
	const values = rows.flatMap(row => {
		const size = `${Number(row.size_bytes) / (1024 * 1024)} MiB`;
		return [
			{size, trial: Number(row.trial), what: 'repair time', seconds: Number(row.repair_ms) / 1000},
			{size, trial: Number(row.trial), what: 'bound (ttl + 2 heartbeats + grace + period + what must come from the survivor)', seconds: Number(row.bound_ms) / 1000},
			{size, trial: Number(row.trial), what: 'one copy from the survivor alone (a get)', seconds: Number(row.transfer_ms) / 1000},
		];
	});
	return {
		$schema: 'https://vega.github.io/schema/vega-lite/v5.json',
		title: 'Back to 3 verified copies after kill -9 of 2 of 3 holders',
		data: {values},
		facet: {column: {field: 'size', type: 'nominal', title: 'file size'}},
		resolve: {scale: {y: 'independent'}},
		spec: {
			width: 260,
			height: 240,
			mark: {type: 'point', filled: true, size: 60},
			encoding: {
				x: {field: 'trial', type: 'ordinal', title: 'trial'},
				y: {field: 'seconds', type: 'quantitative', title: 'seconds'},
				color: {field: 'what', type: 'nominal', title: null, legend: {orient: 'bottom', direction: 'vertical'}},
				shape: {field: 'what', type: 'nominal', title: null},
			},
		},
	};
}

export async function renderReplicationChart(dir: string): Promise<string[]> {
	const rows = parseResults(await readFile(path.join(dir, 'replication-repair.csv'), 'utf8'));
	const spec = repairSpec(rows);
	const specFile = path.join(dir, 'replication-repair.vl.json');
	const svgFile = path.join(dir, 'replication-repair.svg');
	await writeFile(specFile, `${JSON.stringify(spec, undefined, '\t')}\n`);
	const view = new vega.View(vega.parse(compile(spec).spec), {renderer: 'none'});
	await writeFile(svgFile, `${await view.toSVG()}\n`);
	view.finalize();
	return [specFile, svgFile];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	const dir = process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
	process.stdout.write(`wrote ${(await renderReplicationChart(dir)).join(', ')}\n`);
}
