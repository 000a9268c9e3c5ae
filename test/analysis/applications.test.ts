/**
 * Issue 13, "Done means": on new models, no wrong `certified` or `guarded`, and the strongest
 * provable verdict in at least 90% of cases. The models and their verdicts, decided by hand
 * with the argument beside each, are in application-models.ts.
 */
import { describe, expect, it } from 'vitest';
import { analyzeFile } from '../../src/pipeline.ts';
import { CASES, type Expect } from './application-models.ts';

const verdicts = CASES.map((c) => {
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

describe('application models (issue 13, the strongest provable verdict)', () => {
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
