// Golden-file tests in the style of rustc's UI tests: every `cases/<name>.impl` has a
// `cases/<name>.expected.txt` holding exactly what `implc check cases/<name>.impl` prints
// (no color), run from this directory. Regenerate with `UPDATE_GOLDEN=1 npx vitest run test/golden`
// and review the diff.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CATALOG } from '../../src/diagnostics/catalog.ts';
import { renderFile } from '../helpers/render.ts';

const here = dirname(fileURLToPath(import.meta.url));
const casesDir = join(here, 'cases');
const update = process.env.UPDATE_GOLDEN === '1';

const names = readdirSync(casesDir)
  .filter((f) => f.endsWith('.impl'))
  .map((f) => f.slice(0, -'.impl'.length))
  .sort();

const expectedPath = (name: string) => join(casesDir, `${name}.expected.txt`);

/** Catalog groups whose every code must be shown by at least one golden file. */
const COVERED_GROUPS = new Set(['syntax', 'names', 'shapes', 'structure']);

describe('golden diagnostics', () => {
  it('has at least 30 cases', () => {
    expect(names.length).toBeGreaterThanOrEqual(30);
  });

  it.each(names)('%s', (name) => {
    const text = readFileSync(join(casesDir, `${name}.impl`), 'utf8');
    // File names in the output are relative to this directory, as when run from here.
    const actual = renderFile(`cases/${name}.impl`, text);
    const path = expectedPath(name);
    if (update) {
      writeFileSync(path, actual);
      return;
    }
    if (!existsSync(path)) throw new Error(`missing ${path}; run with UPDATE_GOLDEN=1 to create it`);
    expect(actual).toBe(readFileSync(path, 'utf8'));
  });

  it('every case reports at least one diagnostic', () => {
    for (const name of names) {
      expect(renderFile(`cases/${name}.impl`, readFileSync(join(casesDir, `${name}.impl`), 'utf8')), name).not.toBe('');
    }
  });

  it('has no expected file without its case', () => {
    const orphans = readdirSync(casesDir)
      .filter((f) => f.endsWith('.expected.txt'))
      .map((f) => f.slice(0, -'.expected.txt'.length))
      .filter((n) => !names.includes(n));
    expect(orphans).toEqual([]);
  });

  it('covers every syntax, names, shapes and structure code of the catalog', () => {
    const shown = new Set<string>();
    for (const name of names) {
      const path = expectedPath(name);
      if (!existsSync(path)) continue;
      for (const m of readFileSync(path, 'utf8').matchAll(/^(?:error|warning)\[([EW]\d{4})\]/gm)) shown.add(m[1]);
    }
    const required = Object.entries(CATALOG)
      .filter(([, entry]) => COVERED_GROUPS.has(entry.group))
      .map(([code]) => code);
    expect(required.length).toBeGreaterThan(0);
    expect(required.filter((code) => !shown.has(code))).toEqual([]);
  });
});
