// Chained comparisons (issue 13): `0 <= e < 1` is `0 <= e && e < 1` with `e` one node, as in
// mathematics and Python. Only chains that point one way are accepted; `a < b > c` and chains
// with `==` or `!=` are syntax errors with a span and the `&&` spelling as help. The chain is
// checked against the `&&` spelling through every later stage: the IR, the `require` facts of
// Bounds, `implc explain`, and the clause named by a violated `require` at run time.
import { describe, expect, it } from 'vitest';
import { Bounds } from '../../src/analysis/bounds.ts';
import { explainJson, explainText } from '../../src/analysis/explain.ts';
import { frontEnd } from '../../src/compile.ts';
import { compileModel } from '../../src/compile-model.ts';
import { SourceFile } from '../../src/diagnostics/span.ts';
import type { Expr } from '../../src/syntax/ast.ts';
import { analyzeFile } from '../../src/pipeline.ts';
import type { ModelInstance, RunResult } from '../../src/runtime/index.ts';
import { parse } from '../../src/syntax/parse.ts';
import { at, exprSpans, sexpr } from '../helpers/ast.ts';
import { spanProblems } from '../helpers/spans.ts';

/** The file `model M { let e = SRC }` on line 2, the expression starting at column 11. */
const wrap = (src: string) => `model M {\n  let e = ${src}\n}\n`;

function parsed(src: string) {
  return parse(new SourceFile('chain.impl', wrap(src)));
}

function expr(src: string): Expr {
  const r = parsed(src);
  expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  const decl = r.program!.models[0].decls[0];
  if (decl.kind !== 'let') throw new Error(`expected a let, got ${decl.kind}`);
  return decl.value;
}

type Binary = Extract<Expr, { kind: 'binary' }>;
function binary(e: Expr): Binary {
  if (e.kind !== 'binary') throw new Error(`expected a binary node, got ${e.kind}`);
  return e;
}

describe('parse: a chain is a conjunction of its comparisons', () => {
  it.each([
    ['0 <= e < 1', '(&& (<= 0 e) (< e 1))'],
    ['a < b <= c', '(&& (< a b) (<= b c))'],
    ['a > b >= c', '(&& (> a b) (>= b c))'],
    ['a >= b > c', '(&& (>= a b) (> b c))'],
    // Left-folded, as `a < b && b < c && c < d` parses.
    ['a < b < c < d', '(&& (&& (< a b) (< b c)) (< c d))'],
    // Arithmetic binds tighter; && and || stay looser, with their usual precedence.
    ['-1 < x + y <= 2 * z', '(&& (< (- 1) (+ x y)) (<= (+ x y) (* 2 z)))'],
    ['p || 0 < x < 1 && q', '(|| p (&& (&& (< 0 x) (< x 1)) q))'],
    ['if 0 < x < 1 then x else 0', '(if (&& (< 0 x) (< x 1)) x 0)'],
    // A parenthesized comparison is a condition, not a link of a chain: the meaning is unchanged.
    ['(a < b) < c', '(< (< a b) c)'],
    ['a < (b < c)', '(< a (< b c))'],
    // A single comparison is one node, as before.
    ['a < b', '(< a b)'],
    ['a == b', '(== a b)'],
  ])('%s  =>  %s', (src, expected) => {
    expect(sexpr(expr(src))).toBe(expected);
  });

  it('the middle term is one AST node shared by its two comparisons', () => {
    const and = binary(expr('a <= f(b) + 1 < c < d'));
    const left = binary(and.left);
    const first = binary(left.left);
    const second = binary(left.right);
    const third = binary(and.right);
    expect(second.left).toBe(first.right);
    expect(third.left).toBe(second.right);
    expect(sexpr(second.left)).toBe('(+ (f b) 1)');
  });

  it('spans: each comparison its own, each && the chain up to its last term', () => {
    // Line 2:  "  let e = 0 <= x + 1 < 2 < y", the chain at columns 11 to 30.
    const e = expr('0 <= x + 1 < 2 < y');
    expect(exprSpans(e)).toEqual([
      '(&& (&& (<= 0 (+ x 1)) (< (+ x 1) 2)) (< 2 y)) @ 2:11-2:29',
      '(&& (<= 0 (+ x 1)) (< (+ x 1) 2)) @ 2:11-2:25',
      '(<= 0 (+ x 1)) @ 2:11-2:21',
      '0 @ 2:11-2:12',
      '(+ x 1) @ 2:16-2:21',
      'x @ 2:16-2:17',
      '1 @ 2:20-2:21',
      '(< (+ x 1) 2) @ 2:16-2:25',
      '(+ x 1) @ 2:16-2:21',
      'x @ 2:16-2:17',
      '1 @ 2:20-2:21',
      '2 @ 2:24-2:25',
      '(< 2 y) @ 2:24-2:29',
      '2 @ 2:24-2:25',
      'y @ 2:28-2:29',
    ]);
    // Operator spans: each comparison's is its own operator; a && (none is written) has the
    // operator of the comparison it adds to the chain.
    const ops: string[] = [];
    const walk = (x: Expr): void => {
      if (x.kind !== 'binary') return;
      ops.push(`${x.op} @ ${at(x.opSpan)}`);
      walk(x.left);
      walk(x.right);
    };
    walk(e);
    expect(ops).toEqual(['&& @ 2:26-2:27', '&& @ 2:22-2:23', '<= @ 2:13-2:15', '+ @ 2:18-2:19', '< @ 2:22-2:23', '+ @ 2:18-2:19', '< @ 2:26-2:27']);
    const text = wrap('0 <= x + 1 < 2 < y');
    const check = (x: Expr): string[] =>
      x.kind === 'binary'
        ? [...spanProblems(x.span, text, 'chain.impl'), ...spanProblems(x.opSpan, text, 'chain.impl'), ...check(x.left), ...check(x.right)]
        : spanProblems(x.span, text, 'chain.impl');
    expect(check(e)).toEqual([]);
  });

  it('a chain across lines and comments keeps exact spans', () => {
    const r = parse(new SourceFile('chain.impl', 'model M {\n  require 0 <= /* low */ e\n    < 1 // high\n}\n'));
    expect(r.diagnostics).toEqual([]);
    const req = r.program!.models[0].decls[0];
    if (req.kind !== 'require') throw new Error('expected require');
    expect(sexpr(req.cond)).toBe('(&& (<= 0 e) (< e 1))');
    expect(at(req.cond.span)).toBe('2:11-3:8');
    expect(at(binary(req.cond).right.span)).toBe('2:26-3:8');
  });
});

describe('parse: chains that do not point one way are rejected', () => {
  const errors = (src: string) => parsed(src).diagnostics.map((d) => ({ code: d.code, message: d.message, at: at(d.span), label: d.label, help: d.help }));

  it('a < b > c: E0001 at the operator that turns, with the start of the chain as related span', () => {
    const r = parsed('a < b > c');
    expect(errors('a < b > c')).toEqual([
      {
        code: 'E0001',
        message: 'a chain of comparisons must point one way',
        at: '2:17-2:18',
        label: '`>` turns the chain around',
        help: 'if that is what you mean, write `a < b && b > c`',
      },
    ]);
    expect(r.diagnostics[0].related.map((x) => `${at(x.span)} ${x.message}`)).toEqual(['2:13-2:14 the chain starts with `<`']);
    expect(r.diagnostics[0].notes).toEqual(['`a < ... > c` does not compare its first and last terms']);
  });

  it.each([
    ['a <= b < c >= d', '2:22-2:24', '`>=` turns the chain around'],
    ['a >= b <= c', '2:18-2:20', '`<=` turns the chain around'],
    ['x > y > 0 < 1', '2:21-2:22', '`<` turns the chain around'],
  ])('%s: the first turn, at %s', (src, span, label) => {
    const e = errors(src);
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({ code: 'E0001', message: 'a chain of comparisons must point one way', at: span, label });
  });

  it.each([
    ['a == b == c', '2:13-2:15', '==', 'a == b && b == c'],
    ['a != b != c', '2:13-2:15', '!=', 'a != b && b != c'],
    ['a < b == c', '2:17-2:19', '==', 'a < b && b == c'],
    ['0 <= x + 1 != y', '2:22-2:24', '!=', '0 <= x + 1 && x + 1 != y'],
  ])('%s: `==` and `!=` do not chain (E0001 at %s)', (src, span, op, spelled) => {
    expect(errors(src)).toEqual([
      {
        code: 'E0001',
        message: `\`${op}\` does not chain with other comparisons`,
        at: span,
        label: 'only `<`, `<=`, `>` and `>=` chain, all pointing the same way',
        help: `write each comparison out: \`${spelled}\``,
      },
    ]);
  });

  it('a rejected chain is reported with the other syntax errors of the file, and no model is passed on', () => {
    const text = 'model M {\n  param x: real\n  unknown y: real\n  solve y - x = 0\n  require 0 < x > 1\n  let k = (1 +\n}\n';
    const front = frontEnd('bad.impl', text);
    expect(front.diagnostics.filter((d) => d.code === 'E0001').map((d) => `${at(d.span)} ${d.message}`)).toEqual([
      '5:17-5:18 a chain of comparisons must point one way',
      '7:1-7:2 unexpected `}`',
    ]);
    expect(front.models).toEqual([]);
  });

  it('an accepted chain of 1000 comparisons (deeper than MAX_IR_DEPTH unless regrouped) parses, checks and lowers', () => {
    const names = Array.from({ length: 1001 }, (_, i) => `x${i}`);
    const text = `model M {\n${names.map((n) => `  param ${n}: real\n`).join('')}  unknown y: real\n  solve y - x0 = 0\n  require ${names.join(' <= ')}\n}\n`;
    const front = frontEnd('long.impl', text);
    expect(front.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(front.models).toHaveLength(1);
  });
});

// The model of issue 13, with the `require` after the `solve` so both spellings put every
// other node at the same offset: their explain output can then be compared whole.
const kepler = (clause: string) => `model K {\n  param e: real\n  param M: real\n  unknown E: real\n  solve E - e * sin(E) - M = 0\n  require ${clause}\n}\n`;
// The spelling of the issue, on one line with the `require` first.
const keplerInline = (clause: string) => `model K { param e: real  param M: real  unknown E: real  require ${clause}  solve E - e * sin(E) - M = 0 }`;

describe('downstream: a chain is exactly its && spelling', () => {
  const analysis = (text: string) => {
    const file = analyzeFile('k.impl', text);
    expect(file.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(file.analyses).toHaveLength(1);
    return file.analyses[0];
  };

  it('explain (text and JSON) and the diagnostics of `require 0 <= e < 1` are those of `require 0 <= e && e < 1`', () => {
    const chained = analyzeFile('k.impl', kepler('0 <= e < 1'));
    const spelled = analyzeFile('k.impl', kepler('0 <= e && e < 1'));
    expect(explainText(chained.analyses[0])).toBe(explainText(spelled.analyses[0]));
    expect(explainJson(chained.analyses[0])).toEqual(explainJson(spelled.analyses[0]));
    expect(chained.diagnostics).toEqual(spelled.diagnostics);
    // The facts matter: a chained bound that keeps B away from 0 certifies, as its && spelling
    // does; without the clause the verdict is not the certified one. (Under `0 <= e < 1` B comes
    // arbitrarily close to 0 and is decided per solution: certify.ts excludesZero.)
    const bounded = analyzeFile('k.impl', kepler('0 <= e <= 0.99'));
    expect(explainJson(bounded.analyses[0])).toEqual(explainJson(analyzeFile('k.impl', kepler('0 <= e && e <= 0.99')).analyses[0]));
    expect(explainJson(bounded.analyses[0]).verdict).toBe('certified');
    const free = analysis(kepler('M == M'));
    expect(explainJson(free).verdict).not.toBe('certified');
  });

  it('the IR of the clause is and(le(0, e), lt(e, 1)) with e one node, and Bounds learns e in [0, 1)', () => {
    for (const make of [kepler, keplerInline]) {
      const a = analysis(make('0 <= e < 1'));
      const b = analysis(make('0 <= e && e < 1'));
      const g = a.model.graph;
      const node = (id: number) => g.node(id);
      const req = node(a.model.requires[0].node);
      expect(req.op).toBe('and');
      const [lo, hi] = req.args.map(node);
      expect([lo.op, hi.op]).toEqual(['le', 'lt']);
      const e = a.model.params.find((p) => p.name === 'e')!.node;
      expect(lo.args[1]).toBe(e);
      expect(hi.args[0]).toBe(e);
      // Both spellings make the same graph up to the clause, node for node.
      const shape = (m: typeof a.model) => m.graph.nodes.slice(0, m.primalCount).map((n) => `${n.op}(${n.args.join(',')})${n.op === 'const' && 'value' in n ? n.value : ''}`);
      expect(shape(a.model)).toEqual(shape(b.model));
      expect(a.model.requires[0].node).toBe(b.model.requires[0].node);
      // e < 1 on doubles: e <= the double just below 1.
      expect(new Bounds(a.model).interval(e)).toEqual([0, 1 - 2 ** -53]);
      expect(new Bounds(b.model).interval(e)).toEqual(new Bounds(a.model).interval(e));
      expect(a.certificate.verdict).toBe(b.certificate.verdict);
      expect(a.certificate.test).toBe(b.certificate.test);
    }
  });

  type Solver = ModelInstance & { solve(options?: object): RunResult };
  it('a violated chained require names the whole clause at run time, on either side of the chain', async () => {
    const K = await compileModel('chain-kepler.impl', undefined, kepler('0 <= e < 1'));
    const run = (e: number) => (new K({ e, M: 1 }) as unknown as Solver).solve();
    for (const e of [1.5, 1, -0.1]) {
      const r = run(e);
      expect(r.status).toBe('assumption-failed');
      expect(r.failedRequires).toEqual([{ clause: '0 <= e < 1', at: '6:3' }]);
      expect(r.certificate.detail).toContain('`require 0 <= e < 1` (at 6:3) does not hold for these inputs');
    }
    for (const e of [0, 0.5]) expect(run(e).status).toBe('converged');
    // The largest double below 1 holds (the solve itself may struggle there: not a clause matter).
    const edge = run(1 - 2 ** -53);
    expect(edge.status).not.toBe('assumption-failed');
    expect(edge.failedRequires).toBeUndefined();
  });
});

describe('checker: the shared middle term', () => {
  // The checker walks the shared node from both comparisons; an error in it is one error
  // (src/check/check.ts drops a diagnostic it has already reported at the same span).
  it('an undeclared middle term is reported once', () => {
    const front = frontEnd('u.impl', kepler('0 <= ee < 1'));
    expect(front.diagnostics.filter((d) => d.code === 'E0101').map((d) => at(d.span))).toEqual(['6:16-6:18']);
  });

  it('an undeclared term in the && spelling is reported at each of its uses', () => {
    const front = frontEnd('u.impl', kepler('0 <= ee && ee < 1'));
    expect(front.diagnostics.filter((d) => d.code === 'E0101').map((d) => at(d.span))).toEqual(['6:16-6:18', '6:22-6:24']);
  });

  it('a vector in a chain is compared entrywise, as in the && spelling', () => {
    const text = (c: string) => `model V {\n  param v: real[3]\n  unknown y: real\n  solve y - sum(v) = 0\n  require ${c}\n}\n`;
    const chained = analyzeFile('v.impl', text('0 < v <= 1'));
    const spelled = analyzeFile('v.impl', text('0 < v && v <= 1'));
    expect(chained.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(chained.diagnostics.map((d) => d.code)).toEqual(spelled.diagnostics.map((d) => d.code));
    expect(explainJson(chained.analyses[0]).verdict).toBe(explainJson(spelled.analyses[0]).verdict);
  });
});
