/**
 * Issue 13, "Done means": on new models, no wrong `certified`, `guarded` or `violated`, and the
 * strongest provable verdict in at least 90% of cases. Two sets, their verdicts decided by hand
 * with the argument beside each: application-models.ts (78, written alongside this work) and
 * application-models-2.ts (40, written by someone who had not seen the analyzer, verdicts fixed
 * before any run).
 */
import { describe, expect, it } from 'vitest';
import { analyzeFile } from '../../src/pipeline.ts';
import { CASES, type Case, type Expect } from './application-models.ts';
import { CASES_2 } from './application-models-2.ts';

/** A claim the hand-made verdict contradicts: stronger than what holds, or a refutation of what holds. */
function contradicts(expected: readonly Expect[], got: string): boolean {
  if (expected.includes('violated')) return got === 'certified' || got === 'guarded';
  if (expected.every((e) => e === 'runtime' || e === 'guarded')) return got === 'certified' || got === 'violated';
  return got === 'violated';
}

describe.each([
  ['written alongside the analysis', CASES, 78],
  ['written independently', CASES_2, 40],
] as [string, Case[], number][])('application models, %s (issue 13, the strongest provable verdict)', (_what, cases, count) => {
  const verdicts = cases.map((c) => {
    const r = analyzeFile(`${c.name}.impl`, c.text);
    const errors = r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
    return { c, errors, verdict: r.analyses[0]?.certificate.verdict ?? 'none', reason: r.analyses[0]?.certificate.reason ?? '' };
  });

  it(`has ${count} models with distinct names`, () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(count);
  });

  it('every model checks without errors', () => {
    expect(verdicts.filter((v) => v.errors.length).map((v) => `${v.c.name}: ${v.errors[0]}`)).toEqual([]);
  });

  it('no verdict contradicts the hand-made one (no wrong certified, guarded or violated)', () => {
    const wrong = verdicts.filter((v) => contradicts(([] as Expect[]).concat(v.c.expect), v.verdict));
    expect(wrong.map((v) => `${v.c.name}: expected ${v.c.expect}, got ${v.verdict} (${v.reason})`)).toEqual([]);
  });

  it('at least 90% reach the strongest verdict', () => {
    const hits = verdicts.filter((v) => ([] as string[]).concat(v.c.expect).includes(v.verdict));
    const misses = verdicts.filter((v) => !hits.includes(v)).map((v) => `${v.c.name}: expected ${v.c.expect}, got ${v.verdict}`);
    expect(hits.length / verdicts.length, misses.join('\n')).toBeGreaterThanOrEqual(0.9);
  });
});
