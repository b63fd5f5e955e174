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
import type {Field, PositionFieldDef} from 'vega-lite/build/src/channeldef.js';

export const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

/** The targets the benchmark is held to, drawn as ticks. */
const targets = [{holders: 3, target: 2.2, label: 'target 2.2x'}, {holders: 4, target: 3, label: 'target 3x'}];

export async function renderSpeedupChart(csv: string, subtitle: string): Promise<string> {
	const x: PositionFieldDef<Field> = {field: 'holders', type: 'quantitative', title: 'holders of the file', axis: {values: [1, 2, 3, 4, 5, 6, 7, 8], format: 'd'}, scale: {domainMin: 1}};
	const spec: TopLevelSpec = {
		$schema: 'https://vega.github.io/schema/vega-lite/v5.json',
		title: {text: 'Multi-source download: speed-up over one holder', subtitle},
		width: 420,
		height: 280,
		background: 'white',
		layer: [
			{
				data: {values: csv, format: {type: 'csv', parse: {holders: 'number', speedup: 'number'}}},
				transform: [
					{calculate: 'datum.holders', as: 'ideal'},
					{fold: ['speedup', 'ideal'], as: ['series', 'value']},
					{calculate: 'datum.series === "speedup" ? "measured (median)" : "ideal (= holders)"', as: 'line'},
				],
				mark: {type: 'line', point: true},
				encoding: {
					x,
					y: {field: 'value', type: 'quantitative', title: 'speed-up: time with --max-sources 1 / with 4', scale: {domainMin: 0}},
					color: {field: 'line', type: 'nominal', title: null, legend: {orient: 'top-left'}},
				},
			},
			{
				data: {values: targets},
				mark: {type: 'tick', orient: 'horizontal', color: 'black', thickness: 2, size: 18},
				encoding: {x, y: {field: 'target', type: 'quantitative'}},
			},
			{
				data: {values: targets},
				mark: {type: 'text', align: 'left', dx: 12, fontSize: 10},
				encoding: {x, y: {field: 'target', type: 'quantitative'}, text: {field: 'label'}},
			},
		],
	};
	const view = new vega.View(vega.parse(compile(spec).spec), {renderer: 'none'});
	return view.toSVG();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
	const csv = await readFile(path.join(resultsDir, 'multisource.csv'), 'utf8');
	const svg = await renderSpeedupChart(csv, process.argv[2] ?? '');
	await writeFile(path.join(resultsDir, 'multisource.svg'), svg);
}
