/**
 * Renders bench/results/multisource.csv (holders, single_ms, multi_ms, speedup) to an SVG chart of
 * speed-up against holders, with vega-lite compiled and rendered by vega in Node.
 * Run alone (`tsx bench/multisource-chart.ts`) to redraw the chart from the CSV.
 */
import {readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import * as vega from 'vega';
import {compile, type TopLevelSpec} from 'vega-lite';

export const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

export async function renderSpeedupChart(csv: string, subtitle: string): Promise<string> {
	const spec: TopLevelSpec = {
		$schema: 'https://vega.github.io/schema/vega-lite/v5.json',
		title: {text: 'Multi-source download: speed-up over one holder', subtitle},
		width: 420,
		height: 280,
		background: 'white',
		data: {values: csv, format: {type: 'csv', parse: {holders: 'number', speedup: 'number'}}},
		transform: [
			{calculate: 'datum.holders', as: 'ideal'},
			{fold: ['speedup', 'ideal'], as: ['series', 'value']},
			{calculate: 'datum.series === "speedup" ? "measured (median)" : "ideal (= holders)"', as: 'line'},
		],
		mark: {type: 'line', point: true},
		encoding: {
			x: {field: 'holders', type: 'quantitative', title: 'holders of the file', axis: {tickMinStep: 1}, scale: {domainMin: 1}},
			y: {field: 'value', type: 'quantitative', title: 'time with --max-sources 1 / time with 4', scale: {domainMin: 0}},
			color: {field: 'line', type: 'nominal', title: null, legend: {orient: 'top-left'}},
		},
	};
	const view = new vega.View(vega.parse(compile(spec).spec), {renderer: 'none'});
	return view.toSVG();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
	const csv = await readFile(path.join(resultsDir, 'multisource.csv'), 'utf8');
	const svg = await renderSpeedupChart(csv, process.argv[2] ?? '');
	await writeFile(path.join(resultsDir, 'multisource.svg'), svg);
}
