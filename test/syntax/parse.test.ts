// The parser: AST shape for precedence and associativity, number and comment lexing,
// `solve` forms, and the span (1-based line/column, 0-based offset) of every node.
import { describe, expect, it } from 'vitest';
import { SourceFile } from '../../src/diagnostics/span.ts';
import type { Decl, Expr, Program } from '../../src/syntax/ast.ts';
import { parse } from '../../src/syntax/parse.ts';
import { at, declExprs, exprSpans, sexpr } from '../helpers/ast.ts';
import { spanProblems } from '../helpers/spans.ts';

function parseOk(text: string, file = 'test.impl'): Program {
  const result = parse(new SourceFile(file, text));
  expect(result.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  expect(result.program).not.toBeNull();
  return result.program!;
}

/** The expression `src` as the value of a `let` in a one-model file. */
function expr(src: string): Expr {
  const program = parseOk(`model M {\n  let e = ${src}\n}\n`);
  const decl = program.models[0].decls[0];
  if (decl.kind !== 'let') throw new Error(`expected a let, got ${decl.kind}`);
  return decl.value;
}

const shape = (src: string) => sexpr(expr(src));

function syntaxErrors(text: string) {
  return parse(new SourceFile('test.impl', text)).diagnostics.filter((d) => d.code === 'E0001');
}

describe('precedence and associativity', () => {
  it.each([
    // unary minus is looser than ^: -a^2 is -(a^2)
    ['-a^2', '(- (^ a 2))'],
    ['-a^-b', '(- (^ a (- b)))'],
    ['2^-1', '(^ 2 (- 1))'],
    ['+a', '(+ a)'],
    ['--a', '(- (- a))'],
    // ^ is right-associative
    ['a^b^c', '(^ a (^ b c))'],
    ['(a^b)^c', '(^ (^ a b) c)'],
    // + - and * / are left-associative
    ['a - b - c', '(- (- a b) c)'],
    ['a - (b - c)', '(- a (- b c))'],
    ['a + b - c + d', '(+ (- (+ a b) c) d)'],
    ['a / b / c', '(/ (/ a b) c)'],
    ['a .* b ./ c * d / e', '(/ (* (./ (.* a b) c) d) e)'],
    // * binds tighter than +
    ['a + b * c', '(+ a (* b c))'],
    ['a * b + c', '(+ (* a b) c)'],
    ['a * b ^ c', '(* a (^ b c))'],
    ['-a * b', '(* (- a) b)'],
    ['(a + b) * c', '(* (+ a b) c)'],
    // comparisons are looser than arithmetic
    ['a + b < c * d', '(< (+ a b) (* c d))'],
    ['a <= b', '(<= a b)'],
    ['a >= b', '(>= a b)'],
    ['a > b', '(> a b)'],
    ['a == b', '(== a b)'],
    ['a != b', '(!= a b)'],
    ['-a < -b', '(< (- a) (- b))'],
    // && binds tighter than ||; both left-associative
    ['a < b && c > d || e == f', '(|| (&& (< a b) (> c d)) (== e f))'],
    ['a || b && c', '(|| a (&& b c))'],
    ['a && b && c', '(&& (&& a b) c)'],
    ['a || b || c', '(|| (|| a b) c)'],
    ['!a && b', '(&& (! a) b)'],
    ['!(a < b)', '(! (< a b))'],
    // postfix transpose binds tightest
    ["X'", "(' X)"],
    ["X''", "(' (' X))"],
    ["X' * y", "(* (' X) y)"],
    ["-X'", "(- (' X))"],
    ["a^b'", "(^ a (' b))"],
    ["(X * Y)'", "(' (* X Y))"],
    ["f(x)'", "(' (f x))"],
    ["X' * (X * b - y)", "(* (' X) (- (* X b) y))"],
    // calls
    ['f()', '(f)'],
    ['max(a, b + c)', '(max a (+ b c))'],
    ['soft_threshold(b - s * g, s * l)', '(soft_threshold (- b (* s g)) (* s l))'],
    // if then else: the branches are whole expressions
    ['if a > 0 then a else -a', '(if (> a 0) a (- a))'],
    ['if c then a else b + 1', '(if c a (+ b 1))'],
    ['if a > 0 then a else if a < -1 then 0 else -a', '(if (> a 0) a (if (< a (- 1)) 0 (- a)))'],
    ['if a > 0 && b > 0 then 1 else 0', '(if (&& (> a 0) (> b 0)) 1 0)'],
    ['1 + (if c then a else b)', '(+ 1 (if c a b))'],
  ])('%s  =>  %s', (src, expected) => {
    expect(shape(src)).toBe(expected);
  });

  it('comparisons chain only one way (a < b < c is a < b && b < c: test/syntax/chained-comparisons.test.ts)', () => {
    expect(syntaxErrors('model M {\n  let e = a < b > c\n}\n')).toHaveLength(1);
  });

  it('`if` is not an operand without parentheses', () => {
    expect(syntaxErrors('model M {\n  let e = 1 + if c then a else b\n}\n')).toHaveLength(1);
  });

  it('the operator span of a binary node is the operator itself', () => {
    const e = expr('a  .*  b');
    expect(e.kind).toBe('binary');
    if (e.kind !== 'binary') return;
    expect(at(e.opSpan)).toBe('2:14-2:16');
    expect(at(e.span)).toBe('2:11-2:19');
  });
});

describe('numbers', () => {
  it.each([
    ['1e-3', 0.001],
    ['2.5E+2', 250],
    ['.5', 0.5],
    ['3.', 3],
    ['0.25', 0.25],
    ['1E5', 100000],
    ['.5e1', 5],
    ['007', 7],
  ])('%s is %d', (src, value) => {
    const e = expr(src);
    expect(e).toMatchObject({ kind: 'number', text: src, value });
    expect(at(e.span)).toBe(`2:11-2:${11 + src.length}`);
  });

  it('a leading minus is unary, not part of the number', () => {
    expect(shape('-1e-3')).toBe('(- 1e-3)');
  });

  it('a number too large for an f64 is a syntax error at the number', () => {
    const [d] = syntaxErrors('model M {\n  let e = 2 * 1e999\n}\n');
    expect(d.message).toContain('1e999');
    expect(at(d.span)).toBe('2:15-2:20');
  });
});

describe('comments', () => {
  it('are skipped between any two tokens', () => {
    expect(shape('a /* x */ + /* y // z */ b // trailing')).toBe('(+ a b)');
    expect(shape('f(/* no args */)')).toBe('(f)');
  });

  it('block comments may hold `//`, `/*` and newlines; line comments may hold `/*` and `*/`', () => {
    const text = [
      '/* header: // not a line comment,',
      '   /* not a nested opening either',
      '*/ model M { // a line comment with /* and */ in it',
      '  let e = a /* spans',
      '  two lines */ + b',
      '}',
    ].join('\n');
    const program = parseOk(text);
    const d = program.models[0].decls[0] as Extract<Decl, { kind: 'let' }>;
    expect(exprSpans(d.value)).toEqual(['(+ a b) @ 4:11-5:19', 'a @ 4:11-4:12', 'b @ 5:18-5:19']);
    expect(at(program.models[0].span)).toBe('3:4-6:2');
  });

  it('block comments do not nest: the first `*/` closes', () => {
    expect(syntaxErrors('model M {\n  let e = a /* x /* y */ z */ + b\n}\n').length).toBeGreaterThan(0);
  });

  it('a line comment may end the file without a newline', () => {
    expect(parseOk('model M {\n  let e = a\n} // end').models).toHaveLength(1);
  });

  it('an unclosed block comment is E0002 at its opening', () => {
    const { diagnostics } = parse(new SourceFile('t.impl', 'model M {\n  let e = a\n}\n/* never closed\n'));
    expect(diagnostics.map((d) => [d.code, at(d.span)])).toEqual([['E0002', '4:1-4:3']]);
  });
});

describe('solve', () => {
  const solveOf = (body: string) => {
    const d = parseOk(`model M {\n  ${body}\n}\n`).models[0].decls.find((x) => x.kind === 'solve');
    if (!d || d.kind !== 'solve') throw new Error('no solve');
    return d.equations.map((q) => `${sexpr(q.lhs)} = ${sexpr(q.rhs)}`);
  };

  it('single equation', () => {
    expect(solveOf('solve y - 0.5 * abs(y) - x = 0')).toEqual(['(- (- y (* 0.5 (abs y))) x) = 0']);
  });

  it('block separated by `;`', () => {
    expect(solveOf('solve { u - v = 0; v - 1 = a }')).toEqual(['(- u v) = 0', '(- v 1) = a']);
  });

  it('block with a trailing `;`', () => {
    expect(solveOf('solve { u = 0; v = 0; }')).toEqual(['u = 0', 'v = 0']);
  });

  it('block separated by newlines', () => {
    expect(solveOf('solve {\n    u - v = 0\n    v = 1\n  }')).toEqual(['(- u v) = 0', 'v = 1']);
  });

  it('an empty block is a syntax error', () => {
    expect(syntaxErrors('model M {\n  solve { }\n}\n')).toHaveLength(1);
  });

  it('a stray `;` between declarations is allowed', () => {
    const program = parseOk('model M {\n  param x: real;\n  unknown y: real;\n  solve y = x;\n}\n');
    expect(program.models[0].decls.map((d) => d.kind)).toEqual(['param', 'unknown', 'solve']);
  });
});

describe('spans of every node on a multi-line input', () => {
  const text = [
    '// precedence, on several lines', // 1
    'model P {', // 2
    '  dim n', // 3
    '  param a: real', // 4
    '  param X: real[n, 2]', // 5
    '  let e = -a^2 + a^a^a', // 6
    '  let f = a - a - a * a', // 7
    '  /* a block comment with // and /* inside', // 8
    "     over two lines */ let g = X'' * X' * 1e-3", // 9
    '  unknown y: real = .5', // 10
    '  solve { y - 2.5E+2 = 0; a = 0 }', // 11
    '  require a < 1 && a > 0 || !(a == 0)', // 12
    '  output o = if a >= 0 then', // 13
    '    y else -y', // 14
    '}', // 15
    '', // 16
  ].join('\n');
  const program = parseOk(text, 'multi.impl');
  const model = program.models[0];
  const decls = model.decls;
  const slice = (s: { start: { offset: number }; end: { offset: number } }) => text.slice(s.start.offset, s.end.offset);

  it('program and model', () => {
    expect(program.file).toBe('multi.impl');
    // The program starts after the leading comment and runs to the end of the file.
    expect(at(program.span)).toBe('2:1-16:1');
    expect(at(model.span)).toBe('2:1-15:2');
    expect(model.name).toMatchObject({ name: 'P' });
    expect(at(model.name.span)).toBe('2:7-2:8');
  });

  it('declarations', () => {
    expect(decls.map((d) => `${d.kind} @ ${at(d.span)}`)).toEqual([
      'dim @ 3:3-3:8',
      'param @ 4:3-4:16',
      'param @ 5:3-5:22',
      'let @ 6:3-6:23',
      'let @ 7:3-7:24',
      'let @ 9:24-9:47',
      'unknown @ 10:3-10:23',
      'solve @ 11:3-11:34',
      'require @ 12:3-12:38',
      'output @ 13:3-14:14',
    ]);
    expect(slice(decls[9].span)).toBe('output o = if a >= 0 then\n    y else -y');
    expect(slice(decls[5].span)).toBe("let g = X'' * X' * 1e-3");
  });

  it('names, types and dims', () => {
    const [dim, pa, pX, , , , unk] = decls;
    if (dim.kind !== 'dim' || pa.kind !== 'param' || pX.kind !== 'param' || unk.kind !== 'unknown') throw new Error('unexpected decls');
    expect(dim.names.map((n) => `${n.name} @ ${at(n.span)}`)).toEqual(['n @ 3:7-3:8']);
    expect(at(pa.name.span)).toBe('4:9-4:10');
    expect(pa.type).toMatchObject({ base: 'real', dims: [] });
    expect(at(pa.type.span)).toBe('4:12-4:16');
    expect(at(pX.type.span)).toBe('5:12-5:22');
    expect(pX.type.dims.map((d) => `${d.kind}:${d.kind === 'dim' ? d.name : d.kind === 'size' ? d.value : 'sum'} @ ${at(d.span)}`)).toEqual(['dim:n @ 5:17-5:18', 'size:2 @ 5:20-5:21']);
    expect(at(unk.name.span)).toBe('10:11-10:12');
    expect(at(unk.type.span)).toBe('10:14-10:18');
  });

  it('expressions', () => {
    expect(decls.flatMap((d) => declExprs(d).flatMap(exprSpans))).toEqual([
      // let e = -a^2 + a^a^a
      '(+ (- (^ a 2)) (^ a (^ a a))) @ 6:11-6:23',
      '(- (^ a 2)) @ 6:11-6:15',
      '(^ a 2) @ 6:12-6:15',
      'a @ 6:12-6:13',
      '2 @ 6:14-6:15',
      '(^ a (^ a a)) @ 6:18-6:23',
      'a @ 6:18-6:19',
      '(^ a a) @ 6:20-6:23',
      'a @ 6:20-6:21',
      'a @ 6:22-6:23',
      // let f = a - a - a * a
      '(- (- a a) (* a a)) @ 7:11-7:24',
      '(- a a) @ 7:11-7:16',
      'a @ 7:11-7:12',
      'a @ 7:15-7:16',
      '(* a a) @ 7:19-7:24',
      'a @ 7:19-7:20',
      'a @ 7:23-7:24',
      // let g = X'' * X' * 1e-3 (after a two-line block comment)
      "(* (* (' (' X)) (' X)) 1e-3) @ 9:32-9:47",
      "(* (' (' X)) (' X)) @ 9:32-9:40",
      "(' (' X)) @ 9:32-9:35",
      "(' X) @ 9:32-9:34",
      'X @ 9:32-9:33',
      "(' X) @ 9:38-9:40",
      'X @ 9:38-9:39',
      '1e-3 @ 9:43-9:47',
      // unknown y: real = .5
      '.5 @ 10:21-10:23',
      // solve { y - 2.5E+2 = 0; a = 0 }
      '(- y 2.5E+2) @ 11:11-11:21',
      'y @ 11:11-11:12',
      '2.5E+2 @ 11:15-11:21',
      '0 @ 11:24-11:25',
      'a @ 11:27-11:28',
      '0 @ 11:31-11:32',
      // require a < 1 && a > 0 || !(a == 0): parentheses are not part of the inner span
      '(|| (&& (< a 1) (> a 0)) (! (== a 0))) @ 12:11-12:38',
      '(&& (< a 1) (> a 0)) @ 12:11-12:25',
      '(< a 1) @ 12:11-12:16',
      'a @ 12:11-12:12',
      '1 @ 12:15-12:16',
      '(> a 0) @ 12:20-12:25',
      'a @ 12:20-12:21',
      '0 @ 12:24-12:25',
      '(! (== a 0)) @ 12:29-12:38',
      '(== a 0) @ 12:31-12:37',
      'a @ 12:31-12:32',
      '0 @ 12:36-12:37',
      // output o = if a >= 0 then\n y else -y
      '(if (>= a 0) y (- y)) @ 13:14-14:14',
      '(>= a 0) @ 13:17-13:23',
      'a @ 13:17-13:18',
      '0 @ 13:22-13:23',
      'y @ 14:5-14:6',
      '(- y) @ 14:12-14:14',
      'y @ 14:13-14:14',
    ]);
  });

  it('equations and operators', () => {
    const solve = decls[7];
    if (solve.kind !== 'solve') throw new Error('expected solve');
    expect(solve.equations.map((q) => `${slice(q.span)} @ ${at(q.span)}`)).toEqual(['y - 2.5E+2 = 0 @ 11:11-11:25', 'a = 0 @ 11:27-11:32']);
    const ops: string[] = [];
    const walk = (e: Expr): void => {
      if (e.kind === 'binary') {
        ops.push(`${e.op} @ ${at(e.opSpan)}`);
        expect(slice(e.opSpan)).toBe(e.op);
        walk(e.left);
        walk(e.right);
      } else if (e.kind === 'unary' || e.kind === 'transpose') walk(e.arg);
      else if (e.kind === 'if') [e.cond, e.then, e.else].forEach(walk);
      else if (e.kind === 'call') e.args.forEach(walk);
    };
    const req = decls[8];
    if (req.kind !== 'require') throw new Error('expected require');
    walk(req.cond);
    expect(ops).toEqual(['|| @ 12:26-12:28', '&& @ 12:17-12:19', '< @ 12:13-12:14', '> @ 12:22-12:23', '== @ 12:33-12:35']);
  });

  it('every span is consistent with its offsets and covers its own text', () => {
    const problems: string[] = [];
    const check = (s: Parameters<typeof spanProblems>[0], what: string) => problems.push(...spanProblems(s, text, 'multi.impl', what));
    const visit = (e: Expr): void => {
      check(e.span, sexpr(e));
      if (e.kind === 'number') expect(slice(e.span)).toBe(e.text);
      if (e.kind === 'name') expect(slice(e.span)).toBe(e.name);
      if (e.kind === 'binary') {
        check(e.opSpan, `op ${e.op}`);
        visit(e.left);
        visit(e.right);
        expect(e.span.start.offset).toBe(e.left.span.start.offset);
        expect(e.span.end.offset).toBe(e.right.span.end.offset);
      } else if (e.kind === 'unary' || e.kind === 'transpose') visit(e.arg);
      else if (e.kind === 'if') [e.cond, e.then, e.else].forEach(visit);
      else if (e.kind === 'call') e.args.forEach(visit);
    };
    check(program.span, 'program');
    check(model.span, 'model');
    for (const d of decls) {
      check(d.span, d.kind);
      declExprs(d).forEach(visit);
    }
    expect(problems).toEqual([]);
  });

  it('CRLF line endings give the same lines and columns', () => {
    const crlf = parseOk(text.replace(/\n/g, '\r\n'), 'multi.impl');
    const starts = (p: Program) => p.models[0].decls.flatMap((d) => declExprs(d).flatMap(exprSpans)).map((s) => s.replace(/-\d+:\d+$/, ''));
    expect(starts(crlf)).toEqual(starts(program));
  });
});
