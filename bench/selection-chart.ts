/**
 * Renders the selection study's charts from its CSV files: a Vega-Lite spec,
 * compiled to Vega and rendered to SVG by Vega's headless view.
 * Run alone: tsx bench/selection-chart.ts [results dir]
 */
import {readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import {fileURLToPath} from 'node:url';
import * as vega from 'vega';
import {compile, type TopLevelSpec} from 'vega-lite';

export type CsvRow = Record<string, string>;

export function parseCsv(text: string): CsvRow[] {
	const [header, ...lines] = text.trim().split(/\r?\n/);
	const columns = header!.split(',');
	return lines.map(line => {
		const cells = line.split(',');
		return Object.fromEntries(columns.map((column, index) => [column, cells[index] ?? '']));
	});
}

async function renderSvg(spec: TopLevelSpec): Promise<string> {
	const view = new vega.View(vega.parse(compile(spec).spec), {renderer: 'none'});
	const svg = await view.toSVG();
	view.finalize();
	return `${svg}\n`;
}

/** x = hosts per file, y = mean download time, one line per policy. */
export function meansSpec(rows: readonly CsvRow[], title: string): TopLevelSpec {
	const label = (row: CsvRow) => (row.policy === 'cost' ? `cost (k=${row.k})` : row.policy!);
	const values = rows.map(row => ({policy: label(row), hosts: Number(row.hosts), mean_ms: Number(row.mean_ms), p95_ms: Number(row.p95_ms)}));
	const order = ['cost', 'latency', 'load', 'random'].map(policy => rows.find(row => row.policy === policy)).flatMap(row => (row ? [label(row)] : []));
	return {
		$schema: 'https://vega.github.io/schema/vega-lite/v5.json',
		title,
		width: 520,
		height: 320,
		background: 'white',
		data: {values},
		mark: {type: 'line', point: true, strokeWidth: 2},
		encoding: {
			x: {field: 'hosts', type: 'quantitative', title: 'hosts holding the file', axis: {tickMinStep: 1, format: 'd'}, scale: {zero: false}},
			y: {field: 'mean_ms', type: 'quantitative', title: 'mean download time (ms)', scale: {zero: true}},
			color: {field: 'policy', type: 'nominal', title: 'policy', sort: order, scale: {domain: order, range: ['#1b7837', '#2166ac', '#f1a340', '#b2182b']}},
			strokeDash: {field: 'policy', type: 'nominal', sort: order, scale: {domain: order, range: [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3]]}},
		},
	};
}

/** The k sweep: mean download time by k for each host count (thin), and over every host count with a choice (thick). */
export function sweepSpec(rows: readonly CsvRow[], title: string): TopLevelSpec {
	const values = rows.filter(row => Number(row.hosts) >= 2).map(row => ({
		k: Number(row.k),
		hosts: Number(row.hosts),
		mean_ms: Number(row.mean_ms),
	}));
	const x = {field: 'k', type: 'quantitative' as const, title: 'k (ms of latency per unit of load)', scale: {type: 'log' as const}, axis: {values: [...new Set(values.map(value => value.k))]}};
	return {
		$schema: 'https://vega.github.io/schema/vega-lite/v5.json',
		title,
		width: 520,
		height: 320,
		background: 'white',
		data: {values},
		layer: [
			{
				mark: {type: 'line', point: true, strokeWidth: 1},
				encoding: {
					x,
					y: {field: 'mean_ms', type: 'quantitative', title: 'mean download time (ms)', scale: {zero: true}},
					color: {field: 'hosts', type: 'ordinal', title: 'hosts', scale: {scheme: 'blues'}},
				},
			},
			{
				mark: {type: 'line', point: {filled: true, size: 60, color: 'black'}, color: 'black', strokeWidth: 3},
				encoding: {
					x,
					y: {aggregate: 'mean', field: 'mean_ms', type: 'quantitative'},
				},
			},
		],
	};
}

/** Reads selection.csv and selection-k.csv in `dir` and writes selection.svg, and selection-k.svg when more than one k was measured. */
export async function renderCharts(dir: string, note = ''): Promise<string[]> {
	const means = parseCsv(await readFile(path.join(dir, 'selection.csv'), 'utf8'));
	const sweep = parseCsv(await readFile(path.join(dir, 'selection-k.csv'), 'utf8'));
	const written = [path.join(dir, 'selection.svg')];
	await writeFile(written[0]!, await renderSvg(meansSpec(means, `Mean download time by hosts per file${note}`)));
	if (new Set(sweep.map(row => row.k)).size > 1) {
		written.push(path.join(dir, 'selection-k.svg'));
		await writeFile(written[1]!, await renderSvg(sweepSpec(sweep, `cost = latency + k·load by k (black: mean over 2+ hosts)${note}`)));
	}

	return written;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	const dir = process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
	const written = await renderCharts(dir);
	process.stdout.write(`wrote ${written.join(', ')}\n`);
}
