import type { IrModel } from '../ir/model.ts';
import { isScalar, sameShape, type Shape } from '../ir/shape.ts';
import { primitive } from '../primitives/registry.ts';
import type { NodeId } from '../primitives/types.ts';
import { equationNodes } from './classes.ts';

/**
 * Compile-time continuity of F at its switches (MATH.md 4 needs F locally Lipschitz).
 *
 * F switches at a `select(c, a, b)` whose condition c moves (reads params or unknowns). With c
 * a comparison of p and q, read g = p - q: the select is a on one side of the switch surface
 * {g = 0} and b on the other (`>` and `<` put the tie on one side, `>=` and `<=` on the other,
 * `==` and `!=` make the surface itself one of the sides; `!` swaps the branches). Whatever
 * the side, the select is continuous at every point where its branches are continuous and
 * agree on the surface, that is where d = a - b vanishes on {g = 0}. A compound condition
 * (`&&`, `||`, `!` of comparisons) is locally constant off the union of its moving
 * comparisons' surfaces (each comparison is, off its own), so the select is continuous where
 * d vanishes on every one of them; a comparison of data alone is fixed while F is solved and
 * differentiated, and has no surface in the variables of F.
 *
 * The argument, entry by entry (`polynomialOf` below):
 *
 *  - g and d are read as polynomials with exact rational coefficients in symbols. A symbol is
 *    an input (unknown, param, data, dim) or an *atom*: any other subexpression (tanh(y),
 *    W * y, sum(y), a nested `if`), whose value is whatever it is. The polynomial operations
 *    are those whose entry i is the same operation on the arguments' entries i: + - unary -,
 *    .* and scaling, division by a nonzero constant, integer powers, and broadcasting a scalar.
 *    Every node read has the shape of the select (a symbol per entry, entry i of the select
 *    reads entries i) or a scalar shape (one symbol shared by every entry). So at every point
 *    and every entry i, g_i = P_g(values of the symbols at i) and d_i = P_d(the same).
 *  - If P_g = c v + r with c a nonzero constant and r free of the symbol v, then at a point
 *    on the surface (g_i = 0) the value of v is -r/c evaluated there, so
 *    d_i = P_d(v := -r/c)(values there). If the polynomial Q = P_d(v := -r/c) is zero
 *    (exactly: coefficients are BigInt fractions), d_i = 0 at every point of the surface.
 *    This is pure algebra at one point: it does not need the symbols to be independent (an
 *    atom may read v; the converse, "Q != 0 means a jump", would, and is never claimed).
 *  - If P_d itself is zero (the branches are the same polynomial, in particular the same
 *    node), d = 0 everywhere.
 *
 * A literal's value is its decimal text: the model's F is the real function the source
 * denotes, and the f64 constant is its rounding. The double of a literal is turned back into
 * the literal by its shortest round-trip decimal (`String(v)`), which gives back every literal
 * of up to 15 significant digits exactly (`if y > 0.3 then y - 0.1 - 0.2 else 0` is continuous,
 * though 0.3 - 0.1 - 0.2 != 0 in f64: the computed F jumps by a rounding error there, as
 * every computed F differs from the real one by rounding).
 *
 * What this does not prove: that the branches themselves are continuous. That is the rest of
 * the analysis's business: every other switch site must be proved too (a nested `if` is a site
 * of its own, and an atom here), and a discontinuous primitive in F makes the Lipschitz class
 * `discontinuous` (never certified). With the branches locally Lipschitz and agreeing on the
 * surface of a continuous g, F is locally Lipschitz (a segment between the two sides crosses
 * the surface at some z: |F(p) - F(q)| <= L|p - z| + L|z - q| = L|p - q|), and the switch's
 * conservative Jacobian W J_a + (1 - W) J_b with W in [0, 1] at a tie (the select_d kink
 * factor's range, src/primitives/logic.ts) contains the hull of both branches' Jacobians;
 * where a curve stays on the surface for a set of positive length, a = b along it so their
 * derivatives along it agree a.e., and any W gives the same value: a conservative field.
 */

export type Continuity =
  | { verdict: 'continuous'; why: string }
  | { verdict: 'unknown'; why: string };

/** The select nodes of F whose condition moves: the switch sites (as `kinkSites` in analyze.ts finds them). */
export function switchNodes(model: IrModel): NodeId[] {
  return equationNodes(model)
    .filter((n) => primitive(n.op).kink?.switch && ['unknown', 'param'].includes(model.graph.node(n.args[0]).dep))
    .map((n) => n.id);
}

/** Is the select node `id` of F continuous across its switch surface? */
export function switchContinuity(model: IrModel, id: NodeId): Continuity {
  const g = model.graph;
  const n = g.node(id);
  if (n.op !== 'select' || n.args.length !== 3) return { verdict: 'unknown', why: 'not an `if`' };
  const [cond, then, other] = n.args;
  const shape = g.shape(id);
  const reader = new PolynomialReader(model, shape);
  const d = reader.difference(then, other);
  if (d === null) return { verdict: 'unknown', why: reader.failure };
  if (d.size === 0) return { verdict: 'continuous', why: 'its branches are equal' };
  // The comparisons the condition is made of: each moving one's surface bounds a region.
  const leaves: NodeId[] = [];
  const stack = [cond];
  const seen = new Set<NodeId>();
  while (stack.length) {
    const c = stack.pop()!;
    if (seen.has(c)) continue;
    seen.add(c);
    const node = g.node(c);
    // A condition on data alone (or constants) is fixed while F is solved and differentiated.
    if (node.dep !== 'param' && node.dep !== 'unknown') continue;
    if (!isScalar(g.shape(c)) && !sameShape(g.shape(c), shape)) return { verdict: 'unknown', why: 'its condition has another shape' };
    if (['not', 'and', 'or'].includes(node.op)) stack.push(...node.args);
    else if (['gt', 'lt', 'ge', 'le', 'eq', 'ne'].includes(node.op)) leaves.push(c);
    else return { verdict: 'unknown', why: 'its condition is not made of comparisons' };
  }
  const surfaces: string[] = [];
  for (const leaf of leaves.sort((a, b) => a - b)) {
    const [p, q] = g.node(leaf).args;
    const surface = reader.difference(p, q);
    if (surface === null) return { verdict: 'unknown', why: reader.failure };
    const affine = affineSymbol(surface);
    if (affine === null) return { verdict: 'unknown', why: 'a switch surface is not affine in any one variable' };
    const { symbol, coefficient } = affine;
    // g = c v + r  =>  v = -r / c on the surface.
    const r = addPoly(surface, new Map([[monoKey([[symbol, 1]]), { mono: [[symbol, 1]] as Mono, c: neg(coefficient) }]]));
    const value = scalePoly(r, neg(inv(coefficient)));
    const at = `${reader.symbolName(symbol)} = ${showPoly(value, (s) => reader.symbolName(s))}`;
    const rest = substitute(d, symbol, value, reader.limit);
    if (rest === null) return { verdict: 'unknown', why: 'the polynomials grow too large' };
    if (rest.size !== 0) return { verdict: 'unknown', why: `then - else does not vanish where ${at}` };
    surfaces.push(at);
  }
  if (surfaces.length === 0) return { verdict: 'unknown', why: 'its condition has no comparison that moves' };
  return { verdict: 'continuous', why: `its branches agree where ${surfaces.join(' and where ')}` };
}

// --- exact rationals -------------------------------------------------------------------

interface Rat {
  n: bigint;
  d: bigint;
}

const gcd = (a: bigint, b: bigint): bigint => {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
};

function rat(n: bigint, d: bigint = 1n): Rat {
  if (d === 0n) throw new Error('internal error: zero denominator');
  if (d < 0n) [n, d] = [-n, -d];
  const k = gcd(n, d);
  return k > 1n ? { n: n / k, d: d / k } : { n, d };
}

const ZERO = rat(0n);
const ONE = rat(1n);
const add = (a: Rat, b: Rat): Rat => rat(a.n * b.d + b.n * a.d, a.d * b.d);
const mul = (a: Rat, b: Rat): Rat => rat(a.n * b.n, a.d * b.d);
const neg = (a: Rat): Rat => ({ n: -a.n, d: a.d });
const inv = (a: Rat): Rat => rat(a.d, a.n);
const isZero = (a: Rat): boolean => a.n === 0n;

/**
 * A double as the decimal literal it was written as: its shortest round-trip decimal
 * (`String(v)`: digits, an optional point and an optional exponent), exactly. Null when not
 * finite.
 */
export function literalValue(v: number): Rat | null {
  if (!Number.isFinite(v)) return null;
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(v));
  if (!m) return null;
  const [, sign, whole, frac = '', exp = '0'] = m;
  let num = BigInt(whole + frac);
  let den = 10n ** BigInt(frac.length);
  const e = Number(exp);
  if (e >= 0) num *= 10n ** BigInt(e);
  else den *= 10n ** BigInt(-e);
  return rat(sign ? -num : num, den);
}

// --- polynomials -------------------------------------------------------------------------

/** A monomial: [symbol, exponent > 0] pairs sorted by symbol. */
type Mono = [number, number][];
/** A polynomial: monomial key -> monomial and its nonzero coefficient. */
type Poly = Map<string, { mono: Mono; c: Rat }>;

const monoKey = (m: Mono): string => m.map(([s, e]) => `${s}^${e}`).join('*');

function constPoly(c: Rat): Poly {
  return isZero(c) ? new Map() : new Map([['', { mono: [] as Mono, c }]]);
}

function addPoly(a: Poly, b: Poly): Poly {
  const out: Poly = new Map(a);
  for (const [k, t] of b) {
    const prev = out.get(k);
    const c = prev ? add(prev.c, t.c) : t.c;
    if (isZero(c)) out.delete(k);
    else out.set(k, { mono: t.mono, c });
  }
  return out;
}

function scalePoly(a: Poly, k: Rat): Poly {
  if (isZero(k)) return new Map();
  const out: Poly = new Map();
  for (const [key, t] of a) out.set(key, { mono: t.mono, c: mul(t.c, k) });
  return out;
}

function mulMono(a: Mono, b: Mono): Mono {
  const out: Mono = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i][0] < b[j][0])) out.push(a[i++]);
    else if (i >= a.length || b[j][0] < a[i][0]) out.push(b[j++]);
    else out.push([a[i][0], a[i++][1] + b[j++][1]]);
  }
  return out;
}

/** a * b, or null when the product has more than `limit` terms. */
function mulPoly(a: Poly, b: Poly, limit: number): Poly | null {
  if (a.size * b.size > limit * 8) return null;
  const out: Poly = new Map();
  for (const s of a.values()) {
    for (const t of b.values()) {
      const mono = mulMono(s.mono, t.mono);
      const key = monoKey(mono);
      const prev = out.get(key);
      const c = prev ? add(prev.c, mul(s.c, t.c)) : mul(s.c, t.c);
      if (isZero(c)) out.delete(key);
      else out.set(key, { mono, c });
    }
  }
  return out.size > limit ? null : out;
}

function powPoly(a: Poly, k: number, limit: number): Poly | null {
  let out: Poly | null = constPoly(ONE);
  for (let i = 0; i < k && out !== null; i++) out = mulPoly(out, a, limit);
  return out;
}

/** The symbol v with p = c v + r, c a nonzero constant and r free of v (the first such, by symbol). */
function affineSymbol(p: Poly): { symbol: number; coefficient: Rat } | null {
  const candidates = new Map<number, Rat>();
  const excluded = new Set<number>();
  for (const t of p.values()) {
    if (t.mono.length === 1 && t.mono[0][1] === 1) candidates.set(t.mono[0][0], t.c);
    else for (const [s] of t.mono) excluded.add(s);
  }
  const ok = [...candidates].filter(([s]) => !excluded.has(s)).sort((x, y) => x[0] - y[0]);
  return ok.length ? { symbol: ok[0][0], coefficient: ok[0][1] } : null;
}

/** p with the symbol v replaced by the polynomial q; null when it grows past `limit` terms. */
function substitute(p: Poly, v: number, q: Poly, limit: number): Poly | null {
  let out: Poly = new Map();
  const powers: Poly[] = [constPoly(ONE)];
  for (const t of p.values()) {
    const e = t.mono.find(([s]) => s === v)?.[1] ?? 0;
    while (powers.length <= e) {
      const next = mulPoly(powers[powers.length - 1], q, limit);
      if (next === null) return null;
      powers.push(next);
    }
    const rest: Mono = t.mono.filter(([s]) => s !== v);
    const term = mulPoly(new Map([[monoKey(rest), { mono: rest, c: t.c }]]), powers[e], limit);
    if (term === null) return null;
    out = addPoly(out, term);
    if (out.size > limit) return null;
  }
  return out;
}

function showRat(a: Rat): string {
  return a.d === 1n ? String(a.n) : `${a.n}/${a.d}`;
}

function showPoly(p: Poly, name: (s: number) => string): string {
  if (p.size === 0) return '0';
  const terms = [...p.values()].map(({ mono, c }) => {
    const vars = mono.map(([s, e]) => (e === 1 ? name(s) : `${name(s)}^${e}`)).join(' * ');
    if (!vars) return showRat(c);
    if (c.n === c.d) return vars;
    if (c.n === -c.d) return `-${vars}`;
    return `${showRat(c)} * ${vars}`;
  });
  return terms.join(' + ').replace(/\+ -/g, '- ');
}

// --- reading the IR ----------------------------------------------------------------------

/** Operations read as polynomials (entry i of the value is the operation on entries i). */
const POLYNOMIAL_OPS = new Set(['const', 'input', 'add', 'sub', 'neg', 'mul', 'div', 'div_elementwise', 'pow', 'broadcast']);

class PolynomialReader {
  /** The most terms any polynomial may have, and the highest integer power expanded. */
  readonly limit = 2000;
  private readonly maxPower = 32;
  private readonly maxDepth = 2000;
  private readonly memo = new Map<NodeId, Poly | null>();
  failure = '';

  constructor(
    private readonly model: IrModel,
    private readonly shape: Shape,
  ) {}

  /** P(id), or null (with `failure` set). */
  readAt(id: NodeId): Poly | null {
    return this.read(id);
  }

  /** P(a) - P(b), or null (with `failure` set). */
  difference(a: NodeId, b: NodeId): Poly | null {
    if (a === b) return new Map();
    const pa = this.read(a);
    const pb = pa === null ? null : this.read(b);
    return pa === null || pb === null ? null : addPoly(pa, scalePoly(pb, neg(ONE)));
  }

  symbolName(s: NodeId): string {
    const n = this.model.graph.node(s);
    if (n.op === 'input') return (n as { name: string }).name;
    return `(${this.model.textOf(s) ?? `node ${s}`})`;
  }

  private fail(why: string): null {
    this.failure ||= why;
    return null;
  }

  private read(id: NodeId): Poly | null {
    if (this.memo.has(id)) return this.memo.get(id)!;
    const p = this.readNode(id);
    this.memo.set(id, p);
    return p;
  }

  private readNode(id: NodeId): Poly | null {
    const g = this.model.graph;
    const n = g.node(id);
    const s = g.shape(id);
    // Entry i of a node of the select's shape is the value at entry i; a scalar is shared.
    if (!isScalar(s) && !sameShape(s, this.shape)) return this.fail('a subexpression has another shape than the `if`');
    if (n.type.kind !== 'real') return this.fail('a subexpression is a condition');
    const atom = (): Poly => new Map([[monoKey([[id, 1]]), { mono: [[id, 1]] as Mono, c: ONE }]]);
    if (!POLYNOMIAL_OPS.has(n.op)) return atom();
    if (g.depth(id) > this.maxDepth) return this.fail('the expressions are too deep');
    switch (n.op) {
      case 'const': {
        const v = literalValue((n as { value: number }).value);
        return v === null ? this.fail('a constant is not finite') : constPoly(v);
      }
      case 'input':
        return atom();
      case 'add':
      case 'sub': {
        const [a, b] = n.args.map((x) => this.read(x));
        if (a === null || b === null) return null;
        const out = addPoly(a, n.op === 'add' ? b : scalePoly(b, neg(ONE)));
        return out.size > this.limit ? this.fail('the polynomials grow too large') : out;
      }
      case 'neg': {
        const a = this.read(n.args[0]);
        return a === null ? null : scalePoly(a, neg(ONE));
      }
      case 'mul': {
        const [a, b] = n.args.map((x) => this.read(x));
        if (a === null || b === null) return null;
        return mulPoly(a, b, this.limit) ?? this.fail('the polynomials grow too large');
      }
      case 'div':
      case 'div_elementwise': {
        // Division by a nonzero constant is scaling; by anything else, an atom.
        const b = this.read(n.args[1]);
        if (b === null) return null;
        const k = constantOf(b);
        if (k === null || isZero(k)) return atom();
        const a = this.read(n.args[0]);
        return a === null ? null : scalePoly(a, inv(k));
      }
      case 'pow': {
        // The exponent folded from constants (`y ^ (3 - 1)` from the derivative of y^3).
        const ep = this.read(n.args[1]);
        const er = ep === null ? null : constantOf(ep);
        const k = er !== null && er.d === 1n ? Number(er.n) : NaN;
        if (!(Number.isInteger(k) && k >= 0 && k <= this.maxPower)) return atom();
        const a = this.read(n.args[0]);
        if (a === null) return null;
        // a^0 is 1 (also at a = 0: JavaScript's Math.pow(0, 0) = 1, as the value rule).
        return powPoly(a, k, this.limit) ?? this.fail('the polynomials grow too large');
      }
      case 'broadcast':
        // broadcast(x, like): x (a scalar) in every entry; `like` only gives the shape.
        return this.read(n.args[0]);
    }
    return atom();
  }
}

/**
 * The sign of a scalar B over every y, when B (the tangent of F along the seed `seed`, read
 * with the seed at 1) is a polynomial of degree at most 2 in the one unknown `y` with
 * constant (rational) coefficients: a y^2 + b y + c has no real root and one sign when its
 * discriminant b^2 - 4ac is negative (the sign of a), or when a = b = 0 and c != 0. Exact
 * rational arithmetic on the literals: `y^3 - 3 y^2 + 4 y - x` has B = 3 y^2 - 6 y + 4,
 * discriminant 36 - 48 < 0, so B >= 1 > 0 though term by term it ranges over [-inf, inf].
 * Null when B is anything else.
 */
export function quadraticSign(model: IrModel, tangent: NodeId, seed: NodeId, y: NodeId): { sign: 1 | -1; text: string } | null {
  const reader = new PolynomialReader(model, []);
  const read = reader.readAt(tangent);
  if (read === null) return null;
  const B = substitute(read, seed, constPoly(ONE), reader.limit);
  if (B === null) return null;
  let a = ZERO;
  let b = ZERO;
  let c = ZERO;
  for (const t of B.values()) {
    if (t.mono.length === 0) c = t.c;
    else if (t.mono.length === 1 && t.mono[0][0] === y && t.mono[0][1] === 1) b = t.c;
    else if (t.mono.length === 1 && t.mono[0][0] === y && t.mono[0][1] === 2) a = t.c;
    else return null;
  }
  const sign = (r: Rat): number => (r.n > 0n ? 1 : r.n < 0n ? -1 : 0);
  const text = showPoly(B, (v) => reader.symbolName(v));
  if (isZero(a) && isZero(b)) return isZero(c) ? null : { sign: sign(c) as 1 | -1, text };
  if (isZero(a)) return null;
  // b^2 - 4 a c < 0: no real root.
  const disc = add(mul(b, b), neg(mul(rat(4n), mul(a, c))));
  return sign(disc) < 0 ? { sign: sign(a) as 1 | -1, text } : null;
}

/** The value of a constant polynomial, else null. */
function constantOf(p: Poly): Rat | null {
  if (p.size === 0) return ZERO;
  if (p.size === 1 && p.has('')) return p.get('')!.c;
  return null;
}
