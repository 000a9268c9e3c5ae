import { expect } from 'vitest';
import { renderChart } from '../../demos/report-chart.ts';
import type { DemoResult } from '../../demos/demo.ts';

/** Every chart of a demo's result renders to SVG through the report renderer, without warnings. */
export async function expectChartsRender(charts: DemoResult['charts']): Promise<void> {
  expect(charts.length).toBeGreaterThan(0);
  for (const c of charts) {
    const { svg, warnings } = await renderChart(c.spec);
    expect(warnings, c.title).toEqual([]);
    expect(svg).toContain('<svg');
  }
}
