/**
 * Issue 13's "hidden set" stand-in: models from the applications (Lasso, elastic net, NNLS,
 * Huber, box/simplex QPs, LCPs, DEQs with relu/tanh/hard-tanh/leaky units, monotone layers,
 * Kepler's equation, `if` on the unknowns, several unknowns, scalar pathologies), each written
 * for this list and not for a sample, with the strongest verdict that can be proved for it,
 * decided by hand from MATH.md and written next to it with the argument (`why`). Where the
 * answer depends on data (a Lasso's X), the strongest verdict is a run-time one: `runtime` or
 * `guarded` (a guard that may hold); `violated` is kept for models where a reachable singular
 * point exists whatever data is (the kink of |y| = x at x = 0).
 */
export type Expect = 'certified' | 'guarded' | 'runtime' | 'violated';
export interface Case { name: string; expect: Expect | Expect[]; why: string; text: string }
const scalar = (name: string, expect: Expect, why: string, body: string, extra = '') =>
  ({ name, expect, why, text: `model M {\n  param x: real\n  ${extra}\n  unknown y: real\n  ${body}\n}\n` });
export const CASES: Case[] = [
  scalar('abs-if', 'violated', '|y| = x at x = 0: B in [-1,1]', 'solve (if y > 0 then y else -y) - x = 0'),
  scalar('abs-max', 'violated', 'same as abs', 'solve max(y, -y) - x = 0'),
  scalar('contraction-const', 'certified', 'B = 0.5', 'fixpoint y = y - 0.5 * (y - x)'),
  scalar('contraction-expanded', 'certified', 'B = 0.5', 'fixpoint y = 0.5 * y + 0.5 * x'),
  scalar('max-2y', 'certified', 'B in [1,2]', 'solve max(y, 2 * y) - x = 0'),
  scalar('min-2y', 'certified', 'B in [1,2]', 'solve min(y, 2 * y) - x = 0'),
  scalar('relu-plus', 'certified', 'B in [1,2]', 'solve y + relu(y) - x = 0'),
  scalar('kink-half-abs', 'certified', 'B in [0.5,1.5]', 'solve y - 0.5 * abs(y) - x = 0'),
  scalar('relu-identity', 'violated', 'relu(y) = x, B in [0,1]', 'solve relu(y) - x = 0'),
  scalar('cubic', 'violated', 'B = 3y^2 = 0 at y = 0', 'solve y^3 - x = 0'),
  scalar('sin-plus', 'violated', 'B = 1 + cos y = 0 at y = pi', 'solve y + sin(y) - x = 0'),
  scalar('sin-2y', 'certified', 'B in [1,3]', 'solve 2 * y + sin(y) - x = 0'),
  scalar('tanh-plus', 'certified', 'B in [1,1.5]', 'solve y + 0.5 * tanh(y) - x = 0'),
  scalar('tanh-fix', 'certified', 'B = 1 - 0.5 tanh\' in [0.5,1]', 'fixpoint y = 0.5 * tanh(y) + x'),
  scalar('cos-fix', 'violated', 'B = 1 + sin y = 0', 'fixpoint y = cos(y) + x'),
  scalar('exp-solve', 'certified', 'B = exp(y) > 0', 'solve exp(y) - x = 0'),
  scalar('sigmoid-fix', 'certified', 'B = 1 - s(1-s) >= 3/4', 'fixpoint y = sigmoid(y) + x'),
  scalar('huber-solve', 'violated', 'B = 1 + clip(y, -1, 1) = 0 at y = -1', 'solve y + huber(y, 1) - x = 0'),
  scalar('if-relu-fix', 'certified', 'continuous if: B = 1 - 0.5 d in [0.5,1]', 'fixpoint y = 0.5 * (if y > 0 then y else 0) + x'),
  scalar('if-jump', 'runtime', 'F jumps by 1 on its switch y = 0: no B there, and away from it B = 1; only a solution on the switch has no derivative, which the run-time continuity test decides per solution', 'solve y + (if y > 0 then 1 else 0) - x = 0'),
  scalar('if-cont-slopes', 'certified', 'continuous if, slopes 1 and 3', 'solve (if y > 1 then 3 * y - 2 else y) - x = 0'),
  scalar('clip-plus', 'certified', 'B in [1,2]', 'solve y + clip(y, -1, 1) - x = 0'),
  scalar('kepler', 'certified', 'B = 1 - e cos E in (0, 2)', 'solve y - e * sin(y) - x = 0', 'data e: real\n  require 0 <= e < 1'),
  scalar('kepler-099', 'certified', 'B in [0.01, 1.99]', 'solve y - e * sin(y) - x = 0', 'data e: real\n  require 0 <= e <= 0.99'),
  scalar('kepler-free', 'violated', 'e = 1, E = 0', 'solve y - e * sin(y) - x = 0', 'data e: real'),
  scalar('scaled-abs-param', 'certified', 'B = 1 + a s, |a| <= 0.5', 'solve y + a * abs(y) - x = 0', 'param a: real\n  require abs(a) <= 0.5'),
  scalar('leaky-scalar', 'certified', 'B in [0.1, 1]', 'solve max(y, 0.1 * y) - x = 0'),
  // vector
  { name: 'deq-relu', expect: 'guarded', why: 'opnorm(W) < 1', text: `model D { dim h, d
  param W: real[h, h]
  param U: real[h, d]
  param b: real[h]
  data u: real[d]
  unknown z: real[h]
  fixpoint z = relu(W * z + U * u + b) }` },
  { name: 'deq-relu-require', expect: 'certified', why: 'opnorm(W) <= 0.9', text: `model D { dim h, d
  param W: real[h, h]
  param U: real[h, d]
  param b: real[h]
  data u: real[d]
  unknown z: real[h]
  require opnorm(W) <= 0.9
  fixpoint z = relu(W * z + U * u + b) }` },
  { name: 'deq-tanh', expect: 'guarded', why: 'opnorm(W) < 1', text: `model D { dim h
  param W: real[h, h]
  param b: real[h]
  unknown z: real[h]
  fixpoint z = tanh(W * z + b) }` },
  { name: 'deq-hardtanh', expect: 'guarded', why: 'opnorm(W) < 1', text: `model D { dim h
  param W: real[h, h]
  param b: real[h]
  unknown z: real[h]
  fixpoint z = clip(W * z + b, -1, 1) }` },
  { name: 'deq-leaky', expect: 'guarded', why: 'opnorm(W) < 1', text: `model D { dim h
  param W: real[h, h]
  param b: real[h]
  unknown z: real[h]
  fixpoint z = max(W * z + b, 0.1 * (W * z + b)) }` },
  { name: 'deq-scaled', expect: 'guarded', why: '0.5 opnorm(W) < 1', text: `model D { dim h
  param W: real[h, h]
  param b: real[h]
  unknown z: real[h]
  fixpoint z = 0.5 * relu(W * z + b) + 0.5 * b }` },
  { name: 'vec-contraction', expect: 'certified', why: 'B = I - 0.5 D', text: `model V { dim n
  param c: real[n]
  unknown y: real[n]
  fixpoint y = 0.5 * relu(y) + c }` },
  { name: 'vec-solve-plus', expect: 'certified', why: 'B = I + D', text: `model V { dim n
  param c: real[n]
  unknown y: real[n]
  solve y + relu(y) - c = 0 }` },
  { name: 'vec-abs', expect: 'violated', why: 'abs(y) = c at c = 0', text: `model V { dim n
  param c: real[n]
  unknown y: real[n]
  solve abs(y) - c = 0 }` },
  { name: 'monotone-relu', expect: 'certified', why: 'mu I + X\' D X, mu >= 0.1', text: `model P { dim n, m
  data X: real[m, n]
  param c: real[n]
  data mu: real
  require mu >= 0.1
  unknown y: real[n]
  solve mu * y + X' * relu(X * y) - c = 0 }` },
  { name: 'huber-regression', expect: 'certified', why: 'X\' D X + mu I, D in [0,1]', text: `model H { dim n, p
  data X: real[n, p]
  data t: real[n]
  param mu: real
  require mu > 0
  unknown b: real[p]
  solve X' * clip(X * b - t, -1, 1) + mu * b = 0 }` },
  { name: 'lasso', expect: ['runtime', 'guarded'], why: 'data-dependent', text: `model L { dim n, p
  data X: real[n, p]
  data t: real[n]
  param lam: real
  let s = 1 / opnorm(X)^2
  unknown b: real[p]
  fixpoint b = soft_threshold(b - s * X' * (X * b - t), s * lam) }` },
  { name: 'lasso-output-norm1', expect: ['runtime', 'guarded'], why: 'output kinks do not count', text: `model L { dim n, p
  data X: real[n, p]
  data t: real[n]
  param lam: real
  let s = 1 / opnorm(X)^2
  unknown b: real[p]
  fixpoint b = soft_threshold(b - s * X' * (X * b - t), s * lam)
  output o = norm1(b) }` },
  { name: 'elastic-net-mu', expect: 'certified', why: 'H = X\'X + mu I PD, mu > 0', text: `model E { dim n, p
  data X: real[n, p]
  data t: real[n]
  param lam: real
  param mu: real
  require mu > 0
  let s = 1 / (opnorm(X)^2 + mu)
  unknown b: real[p]
  fixpoint b = soft_threshold(b - s * (X' * (X * b - t) + mu * b), s * lam) }` },
  { name: 'nnls', expect: ['runtime', 'guarded'], why: 'X\'X PSD, data-dependent', text: `model N { dim n, p
  data X: real[n, p]
  param t: real[n]
  let s = 1 / opnorm(X)^2
  unknown b: real[p]
  fixpoint b = relu(b - s * X' * (X * b - t)) }` },
  { name: 'box-qp-pd', expect: 'certified', why: 'Q = A\'A + mu I PD', text: `model Q { dim k, m
  data A: real[m, k]
  data mu: real
  require mu >= 0.1
  param q: real[k]
  let g = 1 / (opnorm(A)^2 + mu)
  unknown y: real[k]
  fixpoint y = proj_box(y - g * (A' * (A * y) + mu * y + q), -1, 1) }` },
  { name: 'box-qp-data', expect: ['runtime', 'guarded'], why: 'Q data', text: `model Q { dim k
  data Q: real[k, k]
  param q: real[k]
  let g = 1 / opnorm(Q)
  unknown y: real[k]
  fixpoint y = proj_box(y - g * (Q * y + q), -1, 1) }` },
  { name: 'simplex-qp', expect: ['runtime', 'guarded'], why: 'projection kinks', text: `model S { dim k
  data Q: real[k, k]
  param q: real[k]
  let g = 1 / opnorm(Q)
  unknown y: real[k]
  fixpoint y = proj_simplex(y - g * (Q * y + q)) }` },
  { name: 'lcp', expect: ['runtime', 'guarded'], why: 'P-matrix of data M', text: `model C { dim k
  data M: real[k, k]
  param q: real[k]
  unknown z: real[k]
  solve min(z, M * z + q) = 0 }` },
  // several unknowns
  { name: 'multi-scalar-det', expect: 'certified', why: 'det = 1 + 0.25 d s in [0.75,1.25]', text: `model T { param x: real
  param w: real
  unknown a: real
  unknown b: real
  solve { a + 0.5 * relu(b) - x = 0; b - 0.5 * abs(a) - w = 0 } }` },
  { name: 'multi-triangular', expect: 'certified', why: 'block triangular, diag in [1,2]', text: `model T { param x: real
  unknown a: real
  unknown b: real
  solve { a - x = 0; b + relu(b) - a = 0 } }` },
  { name: 'multi-violated', expect: 'violated', why: 'second block relu(b) - a at a = 0', text: `model T { param x: real
  unknown a: real
  unknown b: real
  solve { a - x = 0; relu(b) - a = 0 } }` },
  { name: 'multi-vector-fix', expect: 'certified', why: 'small gain 0.5*0.5', text: `model T { dim n
  param c: real[n]
  unknown u: real[n]
  unknown v: real[n]
  fixpoint u = 0.5 * tanh(v) + c
  fixpoint v = 0.5 * relu(u) }` },
  { name: 'multi-scalar-vector', expect: 'certified', why: 'triangular: s then y', text: `model T { dim n
  param c: real[n]
  unknown s: real
  unknown y: real[n]
  fixpoint s = 0.5 * tanh(s) + 1
  fixpoint y = 0.5 * relu(y) + s * c }` },

  scalar('kepler-fix', 'certified', 'B = 1 - e cos E, e < 1', 'fixpoint y = x + e * sin(y)', 'data e: real\n  require 0 <= e < 1'),
  scalar('kepler-abs', 'certified', 'B = 1 - e cos E, |e| < 1', 'solve y - e * sin(y) - x = 0', 'param e: real\n  require abs(e) < 1'),
  scalar('cubic-plus', 'certified', 'B = 3y^2 + 1 >= 1', 'solve y^3 + y - x = 0'),
  scalar('cubic-minus', 'violated', 'B = 3y^2 - 1 = 0 at y = 1/sqrt 3', 'solve y^3 - y - x = 0'),
  scalar('exp-plus', 'certified', 'B = exp(y) + 1 > 1', 'solve exp(y) + y - x = 0'),
  scalar('softplus-solve', 'certified', 'B = sigmoid(y) in (0,1)', 'solve softplus(y) - x = 0'),
  scalar('tanh-solve', 'certified', 'B = 1 - tanh^2 in (0,1]', 'solve tanh(y) - x = 0'),
  scalar('two-kinks-ok', 'certified', 'B = 1 - 0.3 d - 0.3 s in [0.4, 1.6]', 'solve y - 0.3 * relu(y) - 0.3 * abs(y) - x = 0'),
  scalar('two-kinks-bad', 'violated', 'B in [-0.2, 1.6] at y = 0', 'solve y - 0.6 * relu(y) - 0.6 * abs(y) - x = 0'),
  scalar('leaky-if', 'certified', 'continuous if, B in [0.1, 1]', 'solve (if y > 0 then y else 0.1 * y) - x = 0'),
  { name: 'vec-tanh-relu-bad', expect: 'violated', why: 'B = 0.5 - 0.5 d at z = 0', text: `model V { dim n
  param c: real[n]
  unknown z: real[n]
  fixpoint z = 0.5 * tanh(z) + 0.5 * relu(z) + c }` },
  { name: 'vec-tanh-relu-ok', expect: 'certified', why: 'B >= 0.1', text: `model V { dim n
  param c: real[n]
  unknown z: real[n]
  fixpoint z = 0.4 * tanh(z) + 0.5 * relu(z) + c }` },
  { name: 'vec-leaky-if', expect: 'certified', why: 'continuous leaky if, B in [0.5, 0.95]', text: `model V { dim n
  param c: real[n]
  unknown z: real[n]
  fixpoint z = 0.5 * (if z > 0 then z else 0.1 * z) + c }` },
  { name: 'vec-min-2z', expect: 'certified', why: 'B diag in [1,2]', text: `model V { dim n
  param q: real[n]
  unknown z: real[n]
  solve min(z, 2 * z + q) = 0 }` },
  { name: 'vec-max-sym', expect: 'violated', why: 'B = 2d - 1 at z = q = 0', text: `model V { dim n
  param q: real[n]
  unknown z: real[n]
  solve max(z, q - z) = 0 }` },
  { name: 'lcp-identity', expect: 'certified', why: 'B = I', text: `model V { dim n
  param q: real[n]
  unknown z: real[n]
  solve min(z, z + q) = 0 }` },
  { name: 'deq-strict-require', expect: 'certified', why: 'opnorm(W) < 1 stated', text: `model D { dim h
  param W: real[h, h]
  param b: real[h]
  unknown z: real[h]
  require opnorm(W) < 1
  fixpoint z = relu(W * z + b) }` },
  { name: 'monotone-tanh', expect: 'certified', why: 'mu I + X\' tanh\' X', text: `model P { dim n, m
  data X: real[m, n]
  param c: real[n]
  param mu: real
  require mu > 0
  unknown y: real[n]
  solve mu * y + X' * tanh(X * y) - c = 0 }` },
  { name: 'ridge-solve', expect: 'certified', why: 'I + X\'X', text: `model P { dim n, m
  data X: real[m, n]
  param c: real[n]
  unknown y: real[n]
  solve y + X' * (X * y) - c = 0 }` },
  { name: 'elastic-net-mu-zero', expect: ['runtime', 'guarded'], why: 'mu >= 0 allows the Lasso', text: `model E { dim n, p
  data X: real[n, p]
  data t: real[n]
  param lam: real
  param mu: real
  require mu >= 0
  let s = 1 / (opnorm(X)^2 + mu)
  unknown b: real[p]
  fixpoint b = soft_threshold(b - s * (X' * (X * b - t) + mu * b), s * lam) }` },
  { name: 'elastic-net-damped-strict', expect: 'certified', why: 'a = 1/(1 + s l2) < 1, K psd', text: `model E { dim n, p
  data X: real[n, p]
  data t: real[n]
  param l1: real
  param l2: real
  require l2 > 0
  let s = 1 / opnorm(X)^2
  unknown b: real[p]
  fixpoint b = soft_threshold(b - s * X' * (X * b - t), s * l1) / (1 + s * l2) }` },
  { name: 'elastic-net-damped-sample', expect: ['runtime', 'guarded'], why: 'l2 >= 0 allows the Lasso', text: `model E { dim n, p
  data X: real[n, p]
  data t: real[n]
  param l1: real
  param l2: real
  require l2 >= 0
  let s = 1 / opnorm(X)^2
  unknown b: real[p]
  fixpoint b = soft_threshold(b - s * X' * (X * b - t), s * l1) / (1 + s * l2) }` },
  { name: 'nnls-ridge', expect: 'certified', why: 'K = s (X\'X + mu I), mu >= 0.01', text: `model N { dim n, p
  data X: real[n, p]
  param t: real[n]
  data mu: real
  require mu >= 0.01
  let s = 1 / (opnorm(X)^2 + mu)
  unknown b: real[p]
  fixpoint b = proj_nonneg(b - s * (X' * (X * b - t) + mu * b)) }` },
  { name: 'simplex-qp-pd', expect: 'certified', why: 'Q = A\'A + mu I', text: `model S { dim k, m
  data A: real[m, k]
  param q: real[k]
  param mu: real
  require mu > 0
  let g = 1 / (opnorm(A)^2 + mu)
  unknown y: real[k]
  fixpoint y = proj_simplex(y - g * (A' * (A * y) + mu * y + q)) }` },
  { name: 'multi-det-2', expect: 'certified', why: 'det = 1 + d in [1,2]', text: `model T { param x: real
  param w: real
  unknown a: real
  unknown b: real
  solve { a + relu(b) - x = 0; b - a - w = 0 } }` },
  { name: 'multi-det-3', expect: 'certified', why: 'det = 2 - d', text: `model T { param x: real
  param w: real
  unknown a: real
  unknown b: real
  solve { a - b - x = 0; a + b - relu(a) - w = 0 } }` },
  { name: 'multi-deq', expect: 'certified', why: 'small gain 0.9 * 0.9', text: `model T { dim h
  param W: real[h, h]
  param V: real[h, h]
  param b: real[h]
  unknown u: real[h]
  unknown v: real[h]
  require opnorm(W) <= 0.9 && opnorm(V) <= 0.9
  fixpoint u = relu(W * v + b)
  fixpoint v = relu(V * u) }` },
];
