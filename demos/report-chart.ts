/**
 * Vega-Lite charts rendered to SVG in Node, for the static report: no browser, no script in
 * the page, and no network (a chart must carry its data inline; any load is refused).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface RenderedChart {
  svg: string;
  /** What Vega-Lite and Vega warned about while compiling and running the spec. */
  warnings: string[];
}

/** A logger that keeps warnings and errors instead of printing them (the console is the demos'). */
function collectingLogger(into: string[]) {
  let lvl = vega.Warn;
  const keep = (kind: string) => (...args: readonly unknown[]) => {
    into.push(`${kind}: ${args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ')}`);
  };
  const logger = {
    level(l?: number) {
      if (l === undefined) return lvl;
      lvl = l;
      return logger;
    },
    error(...args: readonly unknown[]) {
      keep('error')(...args);
      return logger;
    },
    warn(...args: readonly unknown[]) {
      if (lvl >= vega.Warn) keep('warning')(...args);
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  return logger;
}

/** A loader that loads nothing: report charts are self-contained. */
function refusingLoader(): vega.Loader {
  const refuse = async (uri: string): Promise<never> => {
    throw new Error(`the chart tried to load \`${uri}\`; report charts must carry their data inline`);
  };
  const base = vega.loader();
  return {
    ...base,
    load: refuse,
    http: refuse,
    file: refuse,
    sanitize: async (uri: string) => refuse(uri),
  };
}

/** Compile a Vega-Lite spec and render it to an SVG string. Throws when the spec is invalid. */
export async function renderChart(spec: Record<string, unknown>): Promise<RenderedChart> {
  const warnings: string[] = [];
  // biome/tsc: the demos' specs are plain objects; Vega-Lite validates them as it compiles.
  const compiled = compile(spec as unknown as TopLevelSpec, { logger: collectingLogger(warnings) as never });
  const view = new vega.View(vega.parse(compiled.spec), {
    renderer: 'none',
    loader: refusingLoader(),
    logger: collectingLogger(warnings) as never,
    logLevel: vega.Warn,
  });
  try {
    const svg = await view.toSVG();
    return { svg, warnings };
  } finally {
    view.finalize();
  }
}
