/**
 * report/index.html: one self-contained page with every demo's summary, tables and charts
 * (rendered to inline SVG here, in Node), and the verdict of every sample model. No script,
 * no stylesheet or font from elsewhere, no network: it opens from disk, offline, anywhere.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DemoChart, DemoResult, DemoTable } from './demo.ts';
import { renderChart } from './report-chart.ts';

/** One model of one sample file, as `implc explain` classifies it. */
export interface SampleRow {
  file: string;
  model: string;
  verdict: string;
  test: string;
  guard: string | null;
  definability?: string;
  lipschitz?: string;
  /** B = dF/dy, printed. */
  B?: string;
  /** Set when the file did not compile: the first error. */
  error?: string;
}

/** A demo that threw: its section says so instead of showing results. */
export interface DemoFailure {
  name: string;
  title: string;
  error: string;
}

export interface ReportExtra {
  samples: SampleRow[];
  /** The machine the run was made on, in words (CPU, cores, memory, Node). */
  machine: string;
  /** Wall time of the whole run. */
  totalSeconds: number;
  /** Wall time of each demo, by name. */
  demoSeconds?: Record<string, number>;
  failures?: DemoFailure[];
  /** The demos' names in the order they ran: the order of the sections. */
  order?: string[];
  /** Defaults to now. */
  generatedAt?: Date;
  /** Defaults to "implc demos". */
  title?: string;
}

/** Text for HTML content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string);
}

/** A table cell: integers as they are, other numbers to 5 significant digits. */
export function formatCell(value: string | number): string {
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3);
  return String(Number(value.toPrecision(5)));
}

const anchor = (name: string) => `demo-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;

const CSS = `
  :root { color-scheme: light; }
  body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
         color: #1f2328; background: #fff; margin: 0; }
  main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 64px; }
  h1 { font-size: 28px; margin: 0 0 4px; }
  h2 { font-size: 22px; margin: 40px 0 8px; padding-top: 12px; border-top: 1px solid #d0d7de; }
  h3 { font-size: 16px; margin: 24px 0 8px; }
  .meta { color: #57606a; margin: 0 0 16px; }
  .meta dt { font-weight: 600; display: inline; }
  .meta dd { display: inline; margin: 0 16px 0 4px; }
  nav ul { padding-left: 20px; margin: 8px 0; }
  ul.summary { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 12px 12px 12px 32px; }
  ul.summary li { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; white-space: pre-wrap; }
  dl.metrics { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 2px 24px; margin: 8px 0 16px; font-size: 13px; }
  dl.metrics div { display: flex; justify-content: space-between; gap: 8px; border-bottom: 1px dotted #d0d7de; padding: 2px 0; }
  dl.metrics dt { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: #57606a; overflow-wrap: anywhere; }
  dl.metrics dd { margin: 0; font-variant-numeric: tabular-nums; text-align: right; }
  table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
  caption { text-align: left; font-weight: 600; padding: 4px 0; }
  th, td { border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top; }
  th { background: #f6f8fa; text-align: left; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  td.code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
  .scroll { overflow-x: auto; }
  figure { margin: 16px 0 24px; }
  figcaption { font-weight: 600; margin-bottom: 6px; }
  figure svg { max-width: 100%; height: auto; }
  .warn { color: #9a6700; font-size: 12px; }
  .error { color: #cf222e; }
  pre.error { background: #fff1f0; border: 1px solid #ffcecb; border-radius: 6px; padding: 8px 12px; white-space: pre-wrap; }
  .v-certified { color: #1a7f37; font-weight: 600; }
  .v-guarded { color: #0969da; font-weight: 600; }
  .v-runtime { color: #8250df; font-weight: 600; }
  .v-violated, .v-error { color: #cf222e; font-weight: 600; }
  .v-unverified { color: #57606a; font-weight: 600; }
  footer { margin-top: 48px; color: #57606a; font-size: 12px; }
`;

/** A demo table as an HTML table; numeric cells right-aligned. */
export function tableHtml(table: DemoTable): string {
  const head = table.columns.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join('');
  const body = table.rows
    .map((row) => `<tr>${row.map((cell) => `<td${typeof cell === 'number' ? ' class="num"' : ''}>${escapeHtml(formatCell(cell))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<div class="scroll"><table>\n<caption>${escapeHtml(table.title)}</caption>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table></div>`;
}

/** A chart as a figure with its SVG inline; a chart that fails to render says why instead. */
export async function chartHtml(chart: DemoChart): Promise<string> {
  try {
    const { svg, warnings } = await renderChart(chart.spec);
    const notes = warnings.length ? `\n<div class="warn">${warnings.map(escapeHtml).join('<br>')}</div>` : '';
    return `<figure>\n<figcaption>${escapeHtml(chart.title)}</figcaption>\n${stripXmlProlog(svg)}${notes}\n</figure>`;
  } catch (e) {
    return `<figure>\n<figcaption>${escapeHtml(chart.title)}</figcaption>\n<pre class="error">chart not rendered: ${escapeHtml((e as Error).message ?? e)}</pre>\n</figure>`;
  }
}

/** Vega's SVG is a fragment already; drop an XML prolog if one is ever there (not valid in HTML). */
function stripXmlProlog(svg: string): string {
  return svg.replace(/^\s*<\?xml[^>]*\?>\s*/, '');
}

/** The headline numbers, as a compact grid of name and value. */
function metricsHtml(metrics: Record<string, number | string>): string {
  const entries = Object.entries(metrics);
  if (entries.length === 0) return '';
  const items = entries.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(formatCell(v))}</dd></div>`);
  return `<h3>Metrics</h3>\n<dl class="metrics">\n${items.join('\n')}\n</dl>`;
}

async function demoSection(result: DemoResult, seconds: number | undefined): Promise<string> {
  const time = seconds === undefined ? '' : ` <span class="meta">(${seconds.toFixed(1)} s)</span>`;
  const parts = [`<section id="${anchor(result.name)}">`, `<h2>${escapeHtml(result.title)}${time}</h2>`];
  if (result.summary.length) parts.push(`<ul class="summary">\n${result.summary.map((l) => `<li>${escapeHtml(l)}</li>`).join('\n')}\n</ul>`);
  const metrics = metricsHtml(result.metrics);
  if (metrics) parts.push(metrics);
  for (const t of result.tables) parts.push(tableHtml(t));
  // One chart at a time: Vega views are not light, and the order must be the demo's.
  for (const c of result.charts) parts.push(await chartHtml(c));
  parts.push('</section>');
  return parts.join('\n');
}

function failureSection(f: DemoFailure, seconds: number | undefined): string {
  const time = seconds === undefined ? '' : ` <span class="meta">(${seconds.toFixed(1)} s)</span>`;
  return `<section id="${anchor(f.name)}">\n<h2>${escapeHtml(f.title)}${time}</h2>\n<p class="error">This demo failed.</p>\n<pre class="error">${escapeHtml(f.error)}</pre>\n</section>`;
}

function samplesSection(samples: SampleRow[]): string {
  const cols = ['file', 'model', 'definability', 'lipschitz', 'verdict', 'test', 'guard', 'B = dF/dy'];
  const rows = samples.map((s) => {
    const verdict = s.error ? 'error' : s.verdict;
    const cells = [
      `<td class="code">${escapeHtml(s.file)}</td>`,
      `<td>${escapeHtml(s.model)}</td>`,
      `<td>${escapeHtml(s.definability ?? '')}</td>`,
      `<td>${escapeHtml(s.lipschitz ?? '')}</td>`,
      `<td class="v-${escapeHtml(verdict.replace(/[^a-z]/g, ''))}">${escapeHtml(verdict)}</td>`,
      `<td>${escapeHtml(s.error ?? s.test)}</td>`,
      `<td class="code">${escapeHtml(s.guard ?? '')}</td>`,
      `<td class="code">${escapeHtml(s.B ?? '')}</td>`,
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  return [
    '<section id="samples">',
    '<h2>Sample models</h2>',
    '<p>Every model of <code>samples/*.impl</code> and <code>samples/pathological/*.impl</code>, as <code>implc explain</code> classifies it: whether implicit differentiation is justified, by which test, and under which guard.</p>',
    `<div class="scroll"><table>\n<thead><tr>${cols.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join('')}</tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table></div>`,
    '</section>',
  ].join('\n');
}

/** The whole page, as a string. */
export async function renderReport(results: DemoResult[], extra: ReportExtra): Promise<string> {
  const title = extra.title ?? 'implc demos';
  const when = (extra.generatedAt ?? new Date()).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const failures = extra.failures ?? [];
  const seconds = extra.demoSeconds ?? {};
  // Results and failures in the order the demos ran (extra.order), else results first.
  const items = [...results.map((r) => ({ name: r.name, result: r as DemoResult | undefined, failure: undefined as DemoFailure | undefined })), ...failures.map((f) => ({ name: f.name, result: undefined, failure: f }))];
  const rank = (name: string) => {
    const i = extra.order?.indexOf(name) ?? -1;
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  items.sort((a, b) => rank(a.name) - rank(b.name));
  const toc = [
    ...items.map(({ name, result, failure }) =>
      result
        ? `<li><a href="#${anchor(name)}">${escapeHtml(result.title)}</a></li>`
        : `<li><a href="#${anchor(name)}">${escapeHtml(failure?.title ?? name)}</a> <span class="error">(failed)</span></li>`,
    ),
    ...(extra.samples.length ? ['<li><a href="#samples">Sample models</a></li>'] : []),
  ];
  const sections: string[] = [];
  for (const { name, result, failure } of items) {
    if (result) sections.push(await demoSection(result, seconds[name]));
    else if (failure) sections.push(failureSection(failure, seconds[name]));
  }
  if (extra.samples.length) sections.push(samplesSection(extra.samples));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<dl class="meta">
<dt>machine</dt><dd>${escapeHtml(extra.machine)}</dd>
<dt>generated</dt><dd>${escapeHtml(when)}</dd>
<dt>run time</dt><dd>${escapeHtml(extra.totalSeconds.toFixed(1))} s</dd>
</dl>
<nav><ul>
${toc.join('\n')}
</ul></nav>
${sections.join('\n\n')}
<footer>Written by <code>npm start</code> (demos/run.ts). Charts are Vega-Lite specifications rendered to SVG in Node; this page has no script and loads nothing.</footer>
</main>
</body>
</html>
`;
}

/** Write the page to `outDir/fileName` (default report/index.html); returns its absolute path. */
export async function writeReport(results: DemoResult[], extra: ReportExtra, outDir = 'report', fileName = 'index.html'): Promise<string> {
  const html = await renderReport(results, extra);
  mkdirSync(outDir, { recursive: true });
  const path = resolve(join(outDir, fileName));
  writeFileSync(path, html);
  return path;
}
