/**
 * What every demo gives `npm start` and the report (report/index.html): lines for the
 * console summary, headline numbers, tables, and Vega-Lite charts rendered to SVG.
 */
export interface DemoContext {
  /** Print a line of progress (the console; captured in tests). */
  log(line: string): void;
  /** Whether to draw progress bars (stdout is a TTY). */
  tty: boolean;
}

export interface DemoTable {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

export interface DemoChart {
  title: string;
  /** A Vega-Lite (v6) specification with inline data. */
  spec: Record<string, unknown>;
}

export interface DemoResult {
  name: string;
  title: string;
  /** The demo's summary, as printed at the end of `npm start`. */
  summary: string[];
  /** Headline numbers, for tests and the README. */
  metrics: Record<string, number | string>;
  tables: DemoTable[];
  charts: DemoChart[];
}

export interface Demo {
  /** `implc demo <name>`, `npm run demo:<name>`. */
  name: string;
  title: string;
  run(ctx: DemoContext): Promise<DemoResult>;
}
