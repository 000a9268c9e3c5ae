/**
 * A second, independent hidden-set stand-in for issue 13: 40 models written for this list
 * (none is a copy or a renaming of application-models.ts), each with the strongest verdict
 * that can be proved for it, decided by hand from MATH.md (sections 4 and 5) before any tool
 * ran on it; the argument is in `why`. Conventions are those of application-models.ts:
 * `certified` = every B of the conservative Jacobian invertible for every input the
 * `require` clauses admit; `guarded` = invertible under a norm condition on params the user
 * need not satisfy; `runtime` = depends on data matrices; `violated` = a reachable singular B
 * for some admissible inputs, whatever the data matrices are. Several models sit just outside
 * a sound condition (a `require` that admits the bad value, a gain of exactly 1) next to a
 * twin just inside it.
 */
import type { Case, Expect } from './application-models.ts';

/** A model with one scalar param `x` (plus `extra` declarations) and one scalar unknown `y`. */
const one = (name: string, expect: Expect | Expect[], why: string, body: string, extra = ''): Case =>
  ({ name, expect, why, text: `model S {\n  param x: real\n${extra ? `  ${extra}\n` : ''}  unknown y: real\n  ${body}\n}\n` });

export const CASES_2: Case[] = [
  // ---- scalar unknowns (14) ----
  one('sc-shifted-abs', 'certified',
    'B = 2 - 1.5 s with s = sign(y - 1) in [-1, 1] at the kink y = 1: B in [0.5, 3.5], never 0',
    'solve 2 * y - 1.5 * abs(y - 1) - x = 0'),
  one('sc-abs-of-gap', 'violated',
    'F = y - |y - x|; at x = 0, y = 0 (F = 0, reachable) the kink gives B = 1 - s, s in [-1, 1], so B = 0 is in the set',
    'solve y - abs(y - x) = 0'),
  one('sc-cubic-completed-square', 'certified',
    'B = 3y^2 - 6y + 4 = 3(y - 1)^2 + 1 >= 1 for every y (smooth, no kink)',
    'solve y^3 - 3 * y^2 + 4 * y - x = 0'),
  one('sc-if-saturating', 'certified',
    'continuous if (both branches equal 1 at y = 1), slopes 1 and 0.2: B in hull{1, 0.2} = [0.2, 1]',
    'solve (if y < 1 then y else 0.8 + 0.2 * y) - x = 0'),
  one('sc-if-vshape', 'violated',
    'continuous if with slopes 2 (y > 0) and -1 (y <= 0): at y = 0, x = 0 the set is hull{2, -1} = [-1, 2], contains 0',
    'solve (if y > 0 then 2 * y else -y) - x = 0'),
  one('sc-require-slope', 'certified',
    'B = a + d with a in [0.5, 2] (require) and d in [0, 1] (relu): B in [0.5, 3]',
    'solve a * y + relu(y) - x = 0', 'param a: real\n  require 0.5 <= a <= 2'),
  one('sc-require-slope-zero', 'violated',
    'the require admits a = 0; then at x = 0, y = 0 (reachable) B = d in [0, 1] contains 0 (and B = 0 for all y < 0)',
    'solve a * y + relu(y) - x = 0', 'param a: real\n  require 0 <= a <= 2'),
  one('sc-sigmoid-gain-09', 'certified',
    'T\' = 0.9 * 4 s(1 - s) with s(1 - s) <= 1/4, so T\' in (0, 0.9] and B = 1 - T\' in [0.1, 1)',
    'fixpoint y = 0.9 * sigmoid(4 * y) + x'),
  one('sc-sigmoid-gain-12', 'violated',
    'B(y) = 1 - 4.8 s(1 - s) is continuous, -0.2 at y = 0 and -> 1 as y -> inf, so it is 0 at some y*; x = y* - 1.2 sigmoid(4 y*) reaches it',
    'fixpoint y = 1.2 * sigmoid(4 * y) + x'),
  one('sc-soft-threshold-damped', 'certified',
    'soft_threshold\'s derivative is 0 or 1, [0, 1] at |y| = 1: B = 1 - 0.5 d in [0.5, 1]',
    'solve y - 0.5 * soft_threshold(y, 1) - x = 0'),
  one('sc-log-square', 'violated',
    'B = 1 + 2y / (1 + y^2) = (1 + y)^2 / (1 + y^2), which is 0 at y = -1, reached at x = log 2 - 1',
    'solve log(1 + y^2) + y - x = 0'),
  one('sc-cubic-pos-coef', 'certified',
    'B = 3y^2 + c with c > 0 (require): B >= c > 0 at every point',
    'solve y^3 + c * y - x = 0', 'param c: real\n  require c > 0'),
  one('sc-cubic-nonneg-coef', 'violated',
    'the require admits c = 0; then y^3 = x and at x = 0, y = 0 B = 3y^2 + c = 0',
    'solve y^3 + c * y - x = 0', 'param c: real\n  require c >= 0'),
  one('sc-trig-mix', 'certified',
    'T\' = 0.5 (cos y - sin y) = (sqrt2 / 2) cos(y + pi/4) in [-0.708, 0.708]: B = 1 - T\' in [0.29, 1.71] (a sound proof needs the sum bound, not |0.5 sin| + |0.5 cos| <= 1)',
    'fixpoint y = 0.5 * cos(y) + 0.5 * sin(y) + x'),

  // ---- vector unknowns (13) ----
  { name: 'vec-deq-sigmoid', expect: 'guarded',
    why: 'B = I - D W with D = diag(sigmoid\') in [0, 1/4]: invertible when 0.25 opnorm(W) < 1 (so also under opnorm(W) < 1); W is an unconstrained param',
    text: `model Ds {
  dim h, d
  param W: real[h, h]
  param U: real[h, d]
  data u: real[d]
  unknown z: real[h]
  fixpoint z = sigmoid(W * z + U * u)
}` },
  { name: 'vec-deq-sigmoid-wide', expect: 'certified',
    why: 'T_z = D W with D in [0, 1/4] (sigmoid\') and opnorm(W) <= 3.5 (require): ||T_z|| <= 0.875 < 1 (the relu-style bound opnorm(W) < 1 does not suffice here; the slope bound of sigmoid does)',
    text: `model Ds {
  dim h
  param W: real[h, h]
  param b: real[h]
  require opnorm(W) <= 3.5
  unknown z: real[h]
  fixpoint z = sigmoid(W * z + b)
}` },
  { name: 'vec-deq-relu-norm-le-1', expect: ['guarded', 'runtime'],
    why: 'just outside the contraction condition: the require admits W = I, b = 0, where every z >= 0 is a fixed point and B = I - D W = 0 for z > 0, so not certified; the strict guard opnorm(W) < 1 (checked on the values) or the per-solution test decides. W is a param matrix, so by the convention of deq-relu this is guarded, not violated',
    text: `model Dr {
  dim h
  param W: real[h, h]
  param b: real[h]
  require opnorm(W) <= 1
  unknown z: real[h]
  fixpoint z = relu(W * z + b)
}` },
  { name: 'vec-lista', expect: 'guarded',
    why: 'learned ISTA: T_z = D W with D = soft_threshold\' in [0, 1] diagonal: B = I - D W invertible under opnorm(W) < 1; W free',
    text: `model Lista {
  dim k, m
  param W: real[k, k]
  param E: real[k, m]
  param lam: real
  data sig: real[m]
  unknown z: real[k]
  fixpoint z = soft_threshold(W * z + E * sig, lam)
}` },
  { name: 'vec-ridge-prox', expect: 'certified',
    why: 'T_b = (I - s X\'X) / (1 + s mu) with s = 1/||X||^2: I - s X\'X has eigenvalues in [0, 1], divided by 1 + s mu > 1 (mu > 0): ||T_b|| < 1, B = I - T_b positive definite',
    text: `model Ridge {
  dim n, p
  data X: real[n, p]
  data t: real[n]
  param mu: real
  require mu > 0
  let s = 1 / opnorm(X)^2
  unknown b: real[p]
  fixpoint b = (b - s * X' * (X * b - t)) / (1 + s * mu)
}` },
  { name: 'vec-ridge-normal-eq-mu-nonneg', expect: ['runtime', 'guarded'],
    why: 'B = X\'X + mu I; the require admits mu = 0, where B = X\'X is singular iff the data X is column-rank deficient: data-dependent',
    text: `model RidgeNE {
  dim n, p
  data X: real[n, p]
  data t: real[n]
  param mu: real
  require mu >= 0
  unknown b: real[p]
  solve X' * (X * b - t) + mu * b = 0
}` },
  { name: 'vec-clip-box-qp', expect: 'certified',
    why: 'Q = A\'A + 0.5 I, g = 1/(||A||^2 + 0.5): I - gQ has eigenvalues in [0, 1 - 0.5 g]; clip\'s D in [0, 1] diagonal: ||T_y|| <= 1 - 0.5 g < 1 for every data A and bounds lo',
    text: `model BoxQ {
  dim k, m
  data A: real[m, k]
  param q: real[k]
  param lo: real
  let g = 1 / (opnorm(A)^2 + 0.5)
  unknown y: real[k]
  fixpoint y = clip(y - g * (A' * (A * y) + 0.5 * y + q), lo, lo + 2)
}` },
  { name: 'vec-simplex-tanh', expect: 'certified',
    why: 'T_y = J 0.5 diag(tanh\'), J in the conservative Jacobian of proj_simplex: orthogonal projectors and their convex hull, norm <= 1; so ||T_y|| <= 0.5',
    text: `model SimT {
  dim n
  param c: real[n]
  unknown y: real[n]
  fixpoint y = proj_simplex(c + 0.5 * tanh(y))
}` },
  { name: 'vec-l1ball-qp-data', expect: ['runtime', 'guarded'],
    why: 'projected gradient for min 1/2 y\'Qy + q\'y over the l1 ball with Q data (possibly singular or indefinite): invertibility of I - J (I - gQ) depends on Q and the active face',
    text: `model L1Q {
  dim k
  data Q: real[k, k]
  param q: real[k]
  param r: real
  require r > 0
  let g = 1 / opnorm(Q)
  unknown y: real[k]
  fixpoint y = proj_l1ball(y - g * (Q * y + q), r)
}` },
  { name: 'vec-soc-damped', expect: 'certified',
    why: 'T_y = -0.5 J with J in the conservative Jacobian of the second-order-cone projection (symmetric, eigenvalues in [0, 1], hull keeps norm <= 1): ||T_y|| <= 0.5',
    text: `model Soc {
  dim n
  param c: real[n]
  unknown y: real[n]
  fixpoint y = proj_soc(c - 0.5 * y)
}` },
  { name: 'vec-gram-plus-id-relu', expect: 'certified',
    why: 'B = X\'X + I + D, D = diag(relu\') in [0, 1]: symmetric, >= I, for any data X',
    text: `model GR {
  dim n, m
  data X: real[m, n]
  param c: real[n]
  unknown y: real[n]
  solve X' * (X * y) + y + relu(y) - c = 0
}` },
  { name: 'vec-gram-relu-no-id', expect: ['runtime', 'guarded'],
    why: 'B = X\'X + D with D = 0 on coordinates where y < 0: singular when X is rank deficient on those coordinates, so it depends on the data X',
    text: `model GR0 {
  dim n, m
  data X: real[m, n]
  param c: real[n]
  unknown y: real[n]
  solve X' * (X * y) + relu(y) - c = 0
}` },
  { name: 'vec-dead-zone', expect: 'violated',
    why: 'F = y - clip(y, -1, 1) is a dead zone: B = I - D with D = I for |y_i| < 1, so B = 0 at y = 0, c = 0 (reachable; the solution set is the box)',
    text: `model DZ {
  dim n
  param c: real[n]
  unknown y: real[n]
  solve y - clip(y, -1, 1) - c = 0
}` },

  // ---- several unknowns (13) ----
  { name: 'mu-tanh-skew', expect: 'certified',
    why: 'B = [[1, -0.5 tb], [0.5 ta, 1]] with ta, tb = tanh\' in (0, 1]: det = 1 + 0.25 ta tb >= 1',
    text: `model Two {
  param x: real
  param w: real
  unknown a: real
  unknown b: real
  solve { a - 0.5 * tanh(b) - x = 0; b + 0.5 * tanh(a) - w = 0 }
}` },
  { name: 'mu-tanh-symmetric', expect: 'violated',
    why: 'B = [[1, -tb], [-ta, 1]], det = 1 - ta tb = 0 at a = b = 0 (ta = tb = 1), reached at x = w = 0',
    text: `model Two {
  param x: real
  param w: real
  unknown a: real
  unknown b: real
  solve { a - tanh(b) - x = 0; b - tanh(a) - w = 0 }
}` },
  { name: 'mu-sum-product', expect: 'violated',
    why: 'B = [[1, 1], [b, a]], det = a - b = 0 on a = b, reached e.g. at a = b = 1, x = 2, w = 1 (the double root of t^2 - x t + w)',
    text: `model SP {
  param x: real
  param w: real
  unknown a: real
  unknown b: real
  solve { a + b - x = 0; a * b - w = 0 }
}` },
  { name: 'mu-abs-relu-gain-08', expect: 'certified',
    why: 'B = [[1, -0.4 s], [-2 d, 1]], s in [-1, 1] (abs\'), d in [0, 1] (relu\'): det = 1 - 0.8 s d in [0.2, 1.8]',
    text: `model AR {
  param x: real
  param w: real
  unknown a: real
  unknown b: real
  solve { a - 0.4 * abs(b) - x = 0; b - 2 * relu(a) - w = 0 }
}` },
  { name: 'mu-abs-relu-gain-1', expect: 'violated',
    why: 'just outside: det = 1 - s d, and at a = 1, b = 1 (smooth point, s = d = 1) det = 0; reached at x = 0.5, w = -1',
    text: `model AR {
  param x: real
  param w: real
  unknown a: real
  unknown b: real
  solve { a - 0.5 * abs(b) - x = 0; b - 2 * relu(a) - w = 0 }
}` },
  { name: 'mu-trig-require', expect: 'certified',
    why: 'B = [[1, -k cos b], [k sin a, 1]], det = 1 + k^2 cos(b) sin(a) >= 1 - k^2 > 0 since |k| < 1 (require)',
    text: `model Trig {
  param x: real
  param w: real
  param k: real
  require abs(k) < 1
  unknown a: real
  unknown b: real
  solve { a - k * sin(b) - x = 0; b - k * cos(a) - w = 0 }
}` },
  { name: 'mu-if-difference', expect: 'certified',
    why: 'g(a - b) continuous at a = b (both branches 0), g\' in [0.5, 1]: B = [[g\', -g\'], [1, 1]], det = 2 g\' in [1, 2]',
    text: `model IfD {
  param x: real
  param w: real
  unknown a: real
  unknown b: real
  solve { (if a > b then a - b else 0.5 * (a - b)) - x = 0; a + b - w = 0 }
}` },
  { name: 'mu-max-min-sort', expect: 'violated',
    why: 'at a = b (reached when x = w) even the Clarke hull of [[1,0],[0,1]] (a > b) and [[0,1],[1,0]] (a < b) holds [[t, 1-t], [1-t, t]], det = 2t - 1 = 0 at t = 1/2',
    text: `model Sort {
  param x: real
  param w: real
  unknown a: real
  unknown b: real
  solve { max(a, b) - x = 0; min(a, b) - w = 0 }
}` },
  { name: 'mu-coupled-deq-free', expect: ['guarded', 'runtime'],
    why: 'T = [[0, Dt W], [Dr V, 0]], Dt = tanh\' in (0, 1], Dr in [0, 1]: invertible under the small-gain guard opnorm(W) opnorm(V) < 1 (or opnorm(W) < 1 and opnorm(V) < 1); W, V free params',
    text: `model CD {
  dim h
  param W: real[h, h]
  param V: real[h, h]
  param b: real[h]
  unknown u: real[h]
  unknown v: real[h]
  fixpoint u = tanh(W * v + b)
  fixpoint v = relu(V * u)
}` },
  { name: 'mu-triangular-data', expect: 'certified',
    why: 'u does not depend on v: B = [[I - 0.5 diag(tanh\'), 0], [-A, I - 0.3 D]] is block lower triangular with diagonal blocks >= 0.5 I and >= 0.7 I, for any data A',
    text: `model Tri {
  dim n
  data A: real[n, n]
  param c: real[n]
  unknown u: real[n]
  unknown v: real[n]
  fixpoint u = 0.5 * tanh(u) + c
  fixpoint v = A * u + 0.3 * relu(v)
}` },
  { name: 'mu-small-gain-data-require', expect: 'certified',
    why: 'T = [[0, 0.5 D1 A], [0.5 D2 A\', 0]] with D1, D2 diagonal in [0, 1] and opnorm(A) <= 1 (require): ||T||_2 = max of the two block norms <= 0.5',
    text: `model SG {
  dim n
  data A: real[n, n]
  param c: real[n]
  require opnorm(A) <= 1
  unknown u: real[n]
  unknown v: real[n]
  fixpoint u = 0.5 * relu(A * v) + c
  fixpoint v = 0.5 * clip(A' * u, -1, 1)
}` },
  { name: 'mu-small-gain-data-free', expect: ['runtime', 'guarded'],
    why: 'same as mu-small-gain-data-require without the require: with A = 2 I, c = 0 and u = v = 0 in the kinks, B = [[I, -D1], [-D2, I]] with D1 = D2 = I is singular; whether that happens depends on the data A',
    text: `model SG {
  dim n
  data A: real[n, n]
  param c: real[n]
  unknown u: real[n]
  unknown v: real[n]
  fixpoint u = 0.5 * relu(A * v) + c
  fixpoint v = 0.5 * clip(A' * u, -1, 1)
}` },
  { name: 'mu-scalar-then-deq', expect: 'certified',
    why: 's does not depend on z: B = [[1 - 0.5 sigmoid\', 0], [*, I - D W]] block triangular; 1 - 0.5 sigmoid\' >= 0.875 and ||D W|| <= opnorm(W) <= 0.5 (require)',
    text: `model SD {
  dim h
  param W: real[h, h]
  param b: real[h]
  require opnorm(W) <= 0.5
  unknown s: real
  unknown z: real[h]
  fixpoint s = 0.5 * sigmoid(s) + 0.1
  fixpoint z = relu(W * z + s * b)
}` },
];
