import { complement, flat, op, scale, sumTerms, unbroadcast } from './build.ts';
import { diagonalKink, expression } from './elementwise-rules.ts';
import { isScalar } from '../ir/shape.ts';
import * as rules from './shape-rules.ts';
import type { Builder, NodeId, PrimitiveSpec } from './types.ts';

// Comparisons, logic and `if then else`. A comparison is discontinuous as a function of its
// operands, so a condition that depends on unknowns makes `select` a piecewise definition.
// Conditions are stored as 1 (true) and 0 (false); their derivative rules are zero. Values are
// the runtime's kernels of the same names (src/runtime/values/elementwise.ts).

/**
 * The weight W of the then-branch in d select(c, a, b) = W da + (1 - W) db, a real node of the
 * select's shape (MATH.md 3 and 5.4).
 *
 * A comparison of moving values (params or unknowns) is a switching surface: `p > q` and
 * `q < p` read as s > 0 with s = p - q, and `p >= q`, `q <= p` as not(q - p > 0), that is
 * s > 0 with s = q - p and the branches swapped. Its weight is the kink factor
 * select_d(s, then, else) = [s > 0], one kink variable per element of the condition. A
 * condition shared by all rows (`sum(y) > 0` choosing between vectors) is one kink variable
 * scaling every row, as it is in F (so B is not row-wise, MATH.md 5: B(d) = (1 - 2d) I); its
 * factor is select_d(s, norminf(then - else), 0), which carries the largest jump (the largest
 * |entry| of then - else) instead of the branches.
 * At a tie the generated code uses the branch the condition takes, and the certificate lets
 * the factor range over [0, 1]: the hull of both branches' Jacobians, the conservative
 * Jacobian of F where F is continuous across the switch. Whether it is continuous is the
 * second half of the factor's gap (the jump |then - else|, src/runtime/values/elementwise.ts):
 * at a tie with a jump, F is not Lipschitz and the implicit function theorem does not apply.
 *
 * Compound conditions are read as nested switches, each with its own factor and its own
 * branch values (the values of the select on either side of that switch):
 *   select(P && Q, a, b) = select(P, select(Q, a, b), b):   W = W_P W_Q
 *   select(P || Q, a, b) = select(P, a, select(Q, a, b)):   W = W_P + (1 - W_P) W_Q
 *   select(!P, a, b)     = select(P, b, a):                 W = 1 - W_P
 *   `==` is `>=` and `<=`, `!=` its negation.
 * W is multi-affine in the factors, each factor scaling the rows of its own elements, so the
 * row-wise vertex test stays exact (MATH.md 5.4). A condition on data only is no switch of F:
 * its weight is the condition itself, with no kink site.
 */
function switchWeight(g: Builder, c: NodeId, a: NodeId, b: NodeId): NodeId {
  const one = g.constant(1);
  const zero = g.constant(0);
  const value = (cond: NodeId, t: NodeId, f: NodeId): NodeId => op(g, 'select', cond, t, f);
  // Memoized on (condition, then, else): a condition DAG with shared parts (`c2 = c1 || c1`)
  // would otherwise be walked as a tree, exponentially.
  const memo = new Map<string, NodeId>();
  const weight = (cond: NodeId, t: NodeId, f: NodeId): NodeId => {
    const key = `${cond},${t},${f}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    const w = unnegated(cond, t, f);
    memo.set(key, w);
    return w;
  };
  // Iterative over `!` (long chains of `!` nest deeply).
  const unnegated = (cond: NodeId, t: NodeId, f: NodeId): NodeId => {
    let negated = false;
    let n = g.node(cond);
    while (n.op === 'not' && (n.dep === 'param' || n.dep === 'unknown')) {
      negated = !negated;
      cond = n.args[0];
      n = g.node(cond);
    }
    const [then, other] = negated ? [f, t] : [t, f];
    const w = positive(cond, then, other);
    return negated ? complement(g, w) : w;
  };
  const positive = (cond: NodeId, t: NodeId, f: NodeId): NodeId => {
    const n = g.node(cond);
    if (n.dep !== 'param' && n.dep !== 'unknown') return value(cond, one, zero);
    const [p, q] = n.args;
    const strict = (s: NodeId, then: NodeId, other: NodeId) =>
      isScalar(g.shape(s)) && !(isScalar(g.shape(then)) && isScalar(g.shape(other)))
        ? op(g, 'select_d', s, op(g, 'norminf', op(g, 'sub', then, other)), zero)
        : op(g, 'select_d', s, then, other);
    switch (n.op) {
      case 'gt':
        return strict(op(g, 'sub', p, q), t, f);
      case 'lt':
        return strict(op(g, 'sub', q, p), t, f);
      case 'ge':
        return complement(g, strict(op(g, 'sub', q, p), f, t));
      case 'le':
        return complement(g, strict(op(g, 'sub', p, q), f, t));
      case 'eq':
        return positive(op(g, 'and', op(g, 'ge', p, q), op(g, 'le', p, q)), t, f);
      case 'ne':
        return weight(op(g, 'not', op(g, 'eq', p, q)), t, f);
      case 'and': {
        const wq = weight(q, t, f);
        return op(g, 'mul', weight(p, value(q, t, f), f), wq);
      }
      case 'or': {
        const wp = weight(p, t, value(q, t, f));
        return op(g, 'add', wp, op(g, 'mul', complement(g, wp), weight(q, t, f)));
      }
      case 'not':
        return weight(cond, t, f);
      default:
        // No other primitive yields a condition; should one appear, its switch is not read.
        return value(cond, one, zero);
    }
  };
  return weight(c, a, b);
}

const cmp = (name: string, summary: string, jsOp: string): PrimitiveSpec => ({
  name, surface: 'operator', params: ['a', 'b'], summary, definability: 'semialgebraic', lipschitz: 'discontinuous',
  irregularity: 'a condition jumps from false to true', shape: rules.comparison, structure: { elementwise: true, predicate: true },
  ...flat,
  scalarExpr: expression((a, b) => `(${a} ${jsOp} ${b} ? 1.0 : 0.0)`),
});

export const logic: PrimitiveSpec[] = [
  cmp('lt', 'a < b', '<'),
  cmp('le', 'a <= b', '<='),
  cmp('gt', 'a > b', '>'),
  cmp('ge', 'a >= b', '>='),
  cmp('eq', 'a == b', '=='),
  cmp('ne', 'a != b', '!='),
  {
    name: 'and', surface: 'operator', params: ['p', 'q'], summary: 'p && q', definability: 'semialgebraic', lipschitz: 'discontinuous', shape: rules.logic, structure: { elementwise: true, predicate: true },
    ...flat,
    scalarExpr: expression((p, q) => `(${p} != 0.0 && ${q} != 0.0 ? 1.0 : 0.0)`),
  },
  {
    name: 'or', surface: 'operator', params: ['p', 'q'], summary: 'p || q', definability: 'semialgebraic', lipschitz: 'discontinuous', shape: rules.logic, structure: { elementwise: true, predicate: true },
    ...flat,
    scalarExpr: expression((p, q) => `(${p} != 0.0 || ${q} != 0.0 ? 1.0 : 0.0)`),
  },
  {
    name: 'not', surface: 'operator', params: ['p'], summary: '!p', definability: 'semialgebraic', lipschitz: 'discontinuous', shape: rules.logic, structure: { elementwise: true, predicate: true },
    ...flat,
    scalarExpr: expression((p) => `(${p} == 0.0 ? 1.0 : 0.0)`),
  },
  {
    name: 'select', interval: ([, a, b]) => [Math.min(a[0], b[0]), Math.max(a[1], b[1])], surface: 'operator', params: ['cond', 'then', 'else'], summary: 'if cond then a else b (elementwise)',
    definability: 'semialgebraic', lipschitz: 'locally',
    irregularity: 'continuous only when both branches agree where the condition switches',
    shape: rules.select, structure: { piecewise: true, elementwise: true },
    // d select = W da + (1 - W) db, W the weight of the then-branch (switchWeight).
    jvp: (g, node, [, da, db]) => {
      const [c, a, b] = node.args;
      const cond = g.node(c).dep;
      const moving = cond === 'param' || cond === 'unknown';
      if (da === null && db === null && !moving) return null;
      const w = switchWeight(g, c, a, b);
      // Fixed branches on a moving condition (`y - (if x > 0 then 1 else 0)`): the tangent is
      // 0, written W * 0 so that the switch stays a kink site of F, whose jump the runtime
      // certificate must see at a tie.
      if (da === null && db === null) return sumTerms(g, node.id, [op(g, 'mul', w, g.constant(0))]);
      return sumTerms(g, node.id, [scale(g, w, da), scale(g, complement(g, w), db)]);
    },
    vjp: (g, node, ct) => {
      const [c, a, b] = node.args;
      const w = switchWeight(g, c, a, b);
      return [null, unbroadcast(g, op(g, 'mul', w, ct), a), unbroadcast(g, op(g, 'mul', complement(g, w), ct), b)];
    },
    scalarExpr: expression((c, a, b) => `(${c} != 0.0 ? ${a} : ${b})`),
    kink: diagonalKink({
      condition: 'a comparison in the condition ties (p = q in p > q)',
      used: 'the branch the condition takes there (else for > and <, then for >= and <=)',
      range: [0, 1],
      rangeText: 'convex weights: d on then, 1 - d on else, d in [0, 1]',
      factor: 'select_d',
      gap: 'select',
      switch: true,
    }),
  },
];
