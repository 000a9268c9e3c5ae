// The static report (demos/report.ts): inline SVG charts, no script, escaped text; and, where
// Debian's chromium is installed, the page as a headless browser renders it.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoResult } from '../../demos/demo.ts';
import { escapeHtml, formatCell, renderReport, writeReport, type ReportExtra } from '../../demos/report.ts';

const line = (n: number) => Array.from({ length: n }, (_, i) => ({ iteration: i, residual: 10 ** -i }));

const FAKE: DemoResult[] = [
  {
    name: 'alpha',
    title: 'Alpha <demo> & friends',
    summary: ['converged in 12 iterations: residual < 1e-10', 'tag <script>alert(1)</script> stays text'],
    metrics: { iterations: 12, 'residual <': 1e-10, verdict: 'guarded' },
    tables: [
      {
        title: 'Solver runs <table>',
        columns: ['method', 'iterations', 'seconds'],
        rows: [
          ['anderson <m=5>', 12, 0.0123456],
          ['fixed-point', 240, 1.5],
        ],
      },
    ],
    charts: [
      {
        title: 'Residual per iteration',
        spec: {
          $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
          data: { values: line(8) },
          mark: 'line',
          encoding: {
            x: { field: 'iteration', type: 'quantitative' },
            y: { field: 'residual', type: 'quantitative', scale: { type: 'log' } },
          },
        },
      },
      {
        title: 'Time per method',
        spec: {
          data: { values: [{ method: 'anderson', s: 0.01 }, { method: 'fixed-point', s: 1.5 }] },
          mark: 'bar',
          encoding: { x: { field: 'method', type: 'nominal' }, y: { field: 's', type: 'quantitative', title: 'seconds' } },
        },
      },
    ],
  },
  {
    name: 'beta',
    title: 'Beta section',
    summary: ['one line'],
    metrics: {},
    tables: [],
    charts: [],
  },
];

const EXTRA: ReportExtra = {
  samples: [
    { file: 'samples/deq.impl', model: 'Deq', verdict: 'guarded', test: 'contraction', guard: 'opnorm(W) < 1', definability: 'semialgebraic', lipschitz: 'locally', B: 'I - D_relu * W' },
    { file: 'samples/pathological/abs_kink.impl', model: 'AbsKink', verdict: 'violated', test: 'counterexample', guard: null, definability: 'semialgebraic', lipschitz: 'globally', B: 'D_abs' },
  ],
  machine: 'test machine <2 cores>',
  totalSeconds: 1.25,
  demoSeconds: { alpha: 0.5, beta: 0.25 },
  failures: [{ name: 'gamma', title: 'Gamma', error: 'Error: boom <here>' }],
  order: ['alpha', 'gamma', 'beta'],
  generatedAt: new Date('2025-01-02T03:04:05Z'),
};

let dir: string;
let path: string;
let html: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'implc-report-'));
  path = await writeReport(FAKE, EXTRA, join(dir, 'report'));
  html = readFileSync(path, 'utf8');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('writeReport', () => {
  it('writes report/index.html under the folder given', () => {
    expect(path).toBe(join(dir, 'report', 'index.html'));
    expect(statSync(path).size).toBeGreaterThan(1000);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
  });

  it('renders every chart to inline SVG', () => {
    const svgs = html.match(/<svg\b/g) ?? [];
    expect(svgs.length).toBe(2);
    expect(html).toContain('Residual per iteration');
    expect(html).toContain('Time per method');
    // The axes are drawn: Vega renders the field titles as text.
    expect(html).toContain('iteration');
    expect(html).toContain('seconds');
    expect(html).not.toContain('chart not rendered');
  });

  it('has no script, no external resource', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
  });

  it('escapes every text', () => {
    expect(html).toContain('Alpha &lt;demo&gt; &amp; friends');
    expect(html).toContain('residual &lt; 1e-10');
    expect(html).toContain('tag &lt;script&gt;alert(1)&lt;/script&gt; stays text');
    expect(html).toContain('anderson &lt;m=5&gt;');
    expect(html).toContain('test machine &lt;2 cores&gt;');
    expect(html).toContain('Error: boom &lt;here&gt;');
    expect(html).toContain('opnorm(W) &lt; 1');
    expect(html).not.toContain('<demo>');
    expect(html).not.toContain('<m=5>');
  });

  it('has a section per demo, the failures, the tables and the sample verdicts', () => {
    expect(html).toContain('id="demo-alpha"');
    expect(html).toContain('id="demo-beta"');
    expect(html).toContain('id="demo-gamma"');
    expect(html).toContain('This demo failed.');
    expect(html).toContain('<caption>Solver runs &lt;table&gt;</caption>');
    expect(html).toContain('<td class="num">0.012346</td>');
    expect(html).toContain('<td class="num">240</td>');
    expect(html).toContain('id="samples"');
    expect(html).toContain('<td class="v-guarded">guarded</td>');
    expect(html).toContain('<td class="v-violated">violated</td>');
    expect(html).toContain('I - D_relu * W');
    expect(html).toContain('2025-01-02 03:04:05 UTC');
    expect(html).toContain('<dt>residual &lt;</dt><dd>1.000e-10</dd>');
    // Sections in the order the demos ran, the failed one included.
    const at = (id: string) => html.indexOf(`id="${id}"`);
    expect(at('demo-alpha')).toBeLessThan(at('demo-gamma'));
    expect(at('demo-gamma')).toBeLessThan(at('demo-beta'));
    expect(at('demo-beta')).toBeLessThan(at('samples'));
  });

  it('leaves the sample section out when there are no samples', async () => {
    const page = await renderReport([FAKE[1]], { samples: [], machine: 'm', totalSeconds: 0 });
    expect(page).not.toContain('id="samples"');
    expect(page).toContain('Beta section');
  });

  it('says why a chart could not be rendered, and loads no data from elsewhere', async () => {
    const page = await renderReport(
      [
        {
          ...FAKE[1],
          charts: [
            { title: 'remote', spec: { data: { url: 'https://example.com/data.json' }, mark: 'point', encoding: { x: { field: 'a', type: 'quantitative' } } } },
            { title: 'broken', spec: { mark: 'no-such-mark' } },
          ],
        },
      ],
      { samples: [], machine: 'm', totalSeconds: 0 },
    );
    expect(page).toContain('<figcaption>remote</figcaption>');
    expect(page).toContain('<figcaption>broken</figcaption>');
    expect(page).toContain('chart not rendered');
    expect(page).not.toMatch(/<script/i);
  });
});

describe('formatting helpers', () => {
  it('escapes the five HTML specials', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('prints numbers readably', () => {
    expect(formatCell(42)).toBe('42');
    expect(formatCell(0.123456789)).toBe('0.12346');
    expect(formatCell(1.5e-7)).toBe('1.500e-7');
    expect(formatCell(123456789.5)).toBe('1.235e+8');
    expect(formatCell(Number.NaN)).toBe('NaN');
    expect(formatCell('text')).toBe('text');
  });
});

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

function chromium(args: string[], userDataDir: string): Promise<{ stdout: string; stderr: string }> {
  const base = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    `--user-data-dir=${userDataDir}`,
  ];
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM, [...base, ...args], { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`chromium failed: ${error.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

describe(`the report in headless chromium${hasChromium ? '' : ` (skipped: ${CHROMIUM} is not installed)`}`, () => {
  it.skipIf(!hasChromium)('renders the DOM with the SVG charts and the section titles', async () => {
    const { stdout } = await chromium(['--dump-dom', pathToFileURL(path).href], join(dir, 'profile-dom'));
    expect(stdout).toMatch(/<svg\b/);
    expect((stdout.match(/<svg\b/g) ?? []).length).toBe(2);
    for (const title of ['Alpha &lt;demo&gt; &amp; friends', 'Beta section', 'Sample models', 'Residual per iteration']) expect(stdout).toContain(title);
    expect(stdout).not.toMatch(/<script/i);
  }, 120_000);

  it.skipIf(!hasChromium)('takes a screenshot: a non-empty PNG', async () => {
    const shot = join(dir, 'shot.png');
    await chromium([`--screenshot=${shot}`, '--window-size=1200,2000', '--hide-scrollbars', pathToFileURL(path).href], join(dir, 'profile-shot'));
    expect(existsSync(shot)).toBe(true);
    const png = readFileSync(shot);
    expect(png.length).toBeGreaterThan(10_000);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  }, 120_000);
});
