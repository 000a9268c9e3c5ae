// `implc explain` never says two contradictory things (issue 13, build item 5): over every sample
// and benchmark model, the explain text is parsed back into its fields and checked for pairs of
// statements that cannot both hold (a smooth F whose reason speaks of kinks, a `certified` whose
// reason says no test applies, a guard without `guarded`, ...).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainText } from '../../src/analysis/explain.ts';
import { analyzeFile } from '../../src/pipeline.ts';

const files = ['samples', 'samples/pathological', 'bench/models'].flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.impl'))
    .sort()
    .map((f) => join(dir, f)),
);

interface Explained {
  kinks: string[];
  smooth: boolean;
  pieces: string;
  B: string;
  verdict: string;
  test: string;
  guard: string | null;
  why: string;
  counterexample: boolean;
}

/** The fields of one model's explain text, read back from the text alone. */
function parse(text: string): Explained {
  const field = (name: string): string | null => {
    const m = text.match(new RegExp(`^  ${name.replace(/[()=/]/g, '\\$&')} +(.*)$`, 'm'));
    return m ? m[1] : null;
  };
  const verdictLine = field('verdict') ?? '';
  const m = verdictLine.match(/^(\S+) \((.*)\)$/);
  return {
    kinks: [...text.matchAll(/^ {4}(\w+) at \S+: /gm)].map((k) => k[1]),
    smooth: /^ {2}kinks +none \(F is smooth\)$/m.test(text),
    pieces: field('pieces') ?? '',
    B: field('B = dF/dy') ?? '',
    verdict: m?.[1] ?? '',
    test: m?.[2] ?? '',
    guard: field('guard'),
    why: field('why') ?? '',
    counterexample: /^ {2}counterexample at /m.test(text),
  };
}

/** Each pair of statements that cannot both hold, as a message; empty when consistent. */
function contradictions(e: Explained): string[] {
  const found: string[] = [];
  const say = (when: boolean, what: string) => {
    if (when) found.push(what);
  };
  say(e.smooth && e.kinks.length > 0, 'kinks "none" and kink sites listed');
  say(e.smooth && /kink|ties?\b/i.test(e.why), `kinks none (F is smooth), but the reason speaks of kinks or ties: ${e.why}`);
  say(e.smooth && /\bD_\w+/.test(e.B), `kinks none, but B has a kink factor: ${e.B}`);
  say(e.smooth !== (e.pieces === '1'), `kinks ${e.smooth ? 'none' : 'present'} but pieces ${e.pieces}`);
  const proved = e.verdict === 'certified' || e.verdict === 'guarded';
  say(proved && /does not apply|none applies|no sound test|could not|cannot be certified|not justified|singular/i.test(e.why), `verdict ${e.verdict}, but the reason says no proof: ${e.why}`);
  say((e.verdict === 'guarded') !== (e.guard !== null), `verdict ${e.verdict} with guard ${e.guard ?? 'none'}`);
  say(e.verdict === 'violated' && e.test !== 'counterexample', `violated by test ${e.test}`);
  say(e.verdict === 'violated' && !/singular|contains 0|changes sign/i.test(e.why), `violated, but the reason names no singular B: ${e.why}`);
  say(e.verdict !== 'violated' && e.counterexample, `a counterexample shown with verdict ${e.verdict}`);
  say(e.verdict === 'unverified' && e.test !== 'none' && /certif/i.test(e.test), `unverified by a certifying test ${e.test}`);
  say(e.test === 'row-wise vertex test' && e.kinks.length === 0, 'the row-wise vertex test on a model without kinks');
  say(e.verdict === 'runtime' && /does not apply|none applies|no sound test/i.test(e.why), `runtime, but the reason says no test applies: ${e.why}`);
  return found;
}

/** Models of issue 13 whose explain text was contradictory or is near such a case. */
const issueModels: [string, string][] = [
  ['tanh DEQ', 'model T {\n  dim h\n  param W: real[h, h]\n  param b: real[h]\n  unknown z: real[h]\n  fixpoint z = tanh(W * z + b)\n  output o = sum(z)\n}\n'],
  ['|y| as an if', 'model I {\n  param x: real\n  unknown y: real\n  solve (if y > 0 then y else -y) - x = 0\n}\n'],
  ['max(y, 2y)', 'model M {\n  param x: real\n  unknown y: real\n  solve max(y, 2 * y) - x = 0\n}\n'],
  ['a kink factor in a product', 'model C {\n  dim n\n  param W: real[n, n]\n  param b: real[n]\n  unknown y: real[n]\n  solve y - W * relu(y) - b = 0\n}\n'],
  ['a contraction with a constant', 'model K {\n  param c: real\n  unknown y: real\n  fixpoint y = y - 0.5 * (y - c)\n}\n'],
];

describe('explain is consistent', () => {
  it.each(issueModels)('%s', (_name, text) => {
    const r = analyzeFile('issue.impl', text);
    expect(r.analyses).toHaveLength(1);
    expect(contradictions(parse(explainText(r.analyses[0])))).toEqual([]);
  });

  it('the checks themselves catch the contradiction of issue 13', () => {
    // The tanh DEQ of the issue, as it was printed: "kinks none" and a reason about kink factors.
    const before = parse(
      [
        'model T',
        '  kinks         none (F is smooth)',
        '  pieces        1',
        '  B = dF/dy     I - diag(1 - tanh(W * z) .* tanh(W * z)) * W',
        '  verdict       unverified (none)',
        '  why           a kink factor appears inside a product rather than scaling whole rows of B, and no contraction bound holds',
      ].join('\n'),
    );
    expect(contradictions(before)).toHaveLength(1);
    expect(contradictions({ ...before, verdict: 'certified', why: 'no sound test applies' })).toHaveLength(1);
  });

  it.each(files)('%s', (file) => {
    const r = analyzeFile(file, readFileSync(file, 'utf8'));
    expect(r.analyses.length).toBeGreaterThan(0);
    for (const a of r.analyses) {
      const e = parse(explainText(a));
      expect(e.verdict, a.model.name).not.toBe('');
      expect(contradictions(e), a.model.name).toEqual([]);
    }
  });
});
