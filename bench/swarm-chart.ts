/**
 * The flash-crowd chart (bench:swarm): time until the last downloader is done against their
 * number, with the swarm and with --no-swarm, as a vega-lite spec rendered to SVG.
 * Run alone: tsx bench/swarm-chart.ts [csv...] (default bench/results/swarm.csv; rows of later
 * files replace those of the same downloaders and mode), writes swarm-chart.json and swarm.svg beside the first.
 */
import {readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import {fileURLToPath} from 'node:url';
import * as vega from 'vega';
import {compile, type TopLevelSpec} from 'vega-lite';
import {parseCsv} from './selection-chart.js';

const MiB = 1024 * 1024;

export type ChartRow = {downloaders: number; mode: string; lastMs: number};
export type ChartSettings = {aloneMs: number; sizeMib: number; partSize: number; uploadLimit: number};

export function swarmChartSpec(rows: readonly ChartRow[], {aloneMs, sizeMib, partSize, uploadLimit}: ChartSettings): TopLevelSpec {
	const counts = [...new Set(rows.map(row => row.downloaders))].sort((a, b) => a - b);
	const values = rows.map(row => ({downloaders: row.downloaders, mode: row.mode === 'swarm' ? 'swarm (default)' : '--no-swarm', seconds: row.lastMs / 1000}));
	const x = {field: 'downloaders', type: 'quantitative' as const, title: 'downloaders starting at once', axis: {values: counts, format: 'd'}, scale: {type: 'log' as const, base: 2}};
	return {
		$schema: 'https://vega.github.io/schema/vega-lite/v5.json',
		title: {text: 'Flash crowd on one seed: time until the last downloader is done', subtitle: `${sizeMib} MiB file, ${partSize / MiB} MiB parts, every peer capped at ${uploadLimit / MiB} MiB/s upload; one download alone: ${(aloneMs / 1000).toFixed(1)} s`},
		width: 480,
		height: 300,
		background: 'white',
		layer: [
			{
				data: {values},
				mark: {type: 'line', point: true, strokeWidth: 2},
				encoding: {
					x,
					y: {field: 'seconds', type: 'quantitative', title: 'seconds until all are done', scale: {type: 'log'}},
					color: {field: 'mode', type: 'nominal', title: null, legend: {orient: 'top-left'}, scale: {range: ['#1b7837', '#b2182b']}},
				},
			},
			{
				data: {values: [{seconds: (aloneMs * 1.5) / 1000, label: '1.5x one download alone'}]},
				mark: {type: 'rule', strokeDash: [4, 3], color: 'gray'},
				encoding: {y: {field: 'seconds', type: 'quantitative'}},
			},
		],
	};
}

export async function writeSwarmChart(dir: string, rows: readonly ChartRow[], settings: ChartSettings): Promise<void> {
	const spec = swarmChartSpec(rows, settings);
	await writeFile(path.join(dir, 'swarm-chart.json'), `${JSON.stringify(spec, undefined, '\t')}\n`);
	const view = new vega.View(vega.parse(compile(spec).spec), {renderer: 'none'});
	await writeFile(path.join(dir, 'swarm.svg'), `${await view.toSVG()}\n`);
	view.finalize();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
	const files = process.argv.length > 2 ? process.argv.slice(2) : [path.join('bench', 'results', 'swarm.csv')];
	const byCase = new Map<string, ChartRow>();
	let aloneMs = 0;
	for (const file of files) {
		for (const row of parseCsv((await readFile(file, 'utf8')).split('\n').filter(line => !line.startsWith('#')).join('\n'))) {
			const chartRow = {downloaders: Number(row.downloaders), mode: row.mode!, lastMs: Number(row.last_ms)};
			if (chartRow.downloaders === 1) {
				aloneMs ||= chartRow.lastMs;
			} else {
				byCase.set(`${chartRow.downloaders} ${chartRow.mode}`, chartRow);
			}
		}
	}

	await writeSwarmChart(path.dirname(files[0]!), [...byCase.values()], {aloneMs, sizeMib: 64, partSize: MiB, uploadLimit: 4 * MiB});
}
