/**
 * Issue 13, second independent set: on 40 new models (application-models-2.ts, verdicts and
 * arguments decided by hand), no wrong `certified`, `guarded` or `violated`, and the strongest
 * provable verdict in at least 90% of cases. Same assertions as applications.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { analyzeFile } from '../../src/pipeline.ts';
import type { Expect } from './application-models.ts';
import { CASES_2 } from './application-models-2.ts';

const verdicts = CASES_2.map((c) => {
  const r = analyzeFile(`${c.name}.impl`, c.text);
  const errors = r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
  return { c, errors, verdict: r.analyses[0]?.certificate.verdict ?? 'none', reason: r.analyses[0]?.certificate.reason ?? '' };
});

/** A claim the hand-made verdict contradicts: stronger than what holds, or a refutation of what holds. */
function contradicts(expected: readonly Expect[], got: string): boolean {
  if (expected.includes('violated')) return got === 'certified' || got === 'guarded';
  if (expected.every((e) => e === 'runtime' || e === 'guarded')) return got === 'certified' || got === 'violated';
  return got === 'violated';
}

describe('application models, second set (issue 13, the strongest provable verdict)', () => {
  it('has 40 models with distinct names', () => {
    expect(new Set(CASES_2.map((c) => c.name)).size).toBe(40);
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
