/**
 * Hand-written ModelInstance implementations (explicit formulas, no compiler):
 * the reference models of the driver tests. Each writes F, T, the kink factors
 * and gaps, and the products with B = dF/dy and A = dF/dx by hand.
 */
import type { CompiledAnalysis, KinkSite, Matrix, ModelInstance, VariableLayout } from '../../src/runtime/index.ts';
import { matTvec, matvec, opnorm2Upper, frobenius } from '../../src/runtime/index.ts';

function layout(name: string, shape: number[], offset: number): VariableLayout {
  return { name, shape, size: shape.reduce((a, b) => a * b, 1), offset };
}

function analysis(partial: Partial<CompiledAnalysis> & Pick<CompiledAnalysis, 'verdict'>): CompiledAnalysis {
  return { test: 'none', guard: null, rowwise: false, identityRowsWhereFactorZero: null, paramRowsVanishWhereFactorZero: false, nonDiagonalKinks: false, reason: 'hand-written test model', ...partial };
}

/** Shared defaults: no map, no outputs, no guard. */
abstract class BaseModel implements ModelInstance {
  abstract readonly name: string;
  abstract readonly unknowns: readonly VariableLayout[];
  abstract readonly params: readonly VariableLayout[];
  readonly outputNames: readonly string[] = [];
  abstract readonly n: number;
  abstract readonly m: number;
  abstract readonly analysis: CompiledAnalysis;
  abstract readonly kinkSites: readonly KinkSite[];
  readonly hasMap: boolean = false;
  y0: Float64Array | null = null;

  initial(): Float64Array {
    return this.y0 ? this.y0.slice() : new Float64Array(this.n);
  }
  abstract residual(y: Float64Array, out: Float64Array): void;
  map(_y: Float64Array, _out: Float64Array): void {
    throw new Error(`${this.name} has no map`);
  }
  abstract kinkFactors(y: Float64Array): Float64Array[];
  abstract kinkGaps(y: Float64Array): Float64Array[];
  abstract jvpY(y: Float64Array, factors: readonly Float64Array[], ydot: Float64Array, out: Float64Array): void;
  abstract vjpY(y: Float64Array, factors: readonly Float64Array[], w: Float64Array, out: Float64Array): void;
  abstract jvpX(y: Float64Array, factors: readonly Float64Array[], xdot: Float64Array, out: Float64Array): void;
  abstract vjpX(y: Float64Array, factors: readonly Float64Array[], w: Float64Array, out: Float64Array): void;
  outputs(_y: Float64Array): Float64Array {
    return new Float64Array(0);
  }
  outputPartials(_k: number, _y: Float64Array, _factors: readonly Float64Array[]): { y: Float64Array; x: Float64Array } {
    throw new Error(`${this.name} has no outputs`);
  }
  guardBound(): number | null {
    return null;
  }
}

/** abs'(y) used by the kernels: sign(y), 0 at the kink. */
const sgn = (v: number): number => (v > 0 ? 1 : v < 0 ? -1 : 0);

/**
 * (a) F = y - 0.5 |y| - x: B = 1 - 0.5 d, d in [-1, 1], so B in [0.5, 1.5].
 * Output o = y^2 + x.
 */
export class KinkScalar extends BaseModel {
  readonly name = 'Kink';
  readonly unknowns = [layout('y', [], 0)];
  readonly params = [layout('x', [], 0)];
  override readonly outputNames = ['o'];
  readonly n = 1;
  readonly m = 1;
  readonly analysis = analysis({ verdict: 'certified', test: 'scalar interval', rowwise: true, reason: 'every B lies in [0.5, 1.5], which excludes 0' });
  readonly kinkSites: KinkSite[] = [{ primitive: 'abs', range: [-1, 1], at: '4:13' }];
  constructor(public x: number) {
    super();
  }
  residual(y: Float64Array, out: Float64Array): void {
    out[0] = y[0] - 0.5 * Math.abs(y[0]) - this.x;
  }
  kinkFactors(y: Float64Array): Float64Array[] {
    return [Float64Array.of(sgn(y[0]))];
  }
  kinkGaps(y: Float64Array): Float64Array[] {
    return [Float64Array.of(Math.abs(y[0]))];
  }
  jvpY(_y: Float64Array, f: readonly Float64Array[], v: Float64Array, out: Float64Array): void {
    out[0] = (1 - 0.5 * f[0][0]) * v[0];
  }
  vjpY(y: Float64Array, f: readonly Float64Array[], w: Float64Array, out: Float64Array): void {
    this.jvpY(y, f, w, out);
  }
  jvpX(_y: Float64Array, _f: readonly Float64Array[], v: Float64Array, out: Float64Array): void {
    out[0] = -v[0];
  }
  vjpX(y: Float64Array, f: readonly Float64Array[], w: Float64Array, out: Float64Array): void {
    this.jvpX(y, f, w, out);
  }
  override outputs(y: Float64Array): Float64Array {
    return Float64Array.of(y[0] * y[0] + this.x);
  }
  override outputPartials(_k: number, y: Float64Array): { y: Float64Array; x: Float64Array } {
    return { y: Float64Array.of(2 * y[0]), x: Float64Array.of(1) };
  }
}

/**
 * (d) The pathology of MATH.md 4: F = |y| - x. B = d in [-1, 1] at y = 0.
 * Compile time: violated (the hull of {-1, +1} contains 0).
 */
export class AbsModel extends BaseModel {
  readonly name = 'Abs';
  readonly unknowns = [layout('y', [], 0)];
  readonly params = [layout('x', [], 0)];
  override readonly outputNames = ['o'];
  readonly n = 1;
  readonly m = 1;
  readonly analysis = analysis({ verdict: 'violated', test: 'counterexample', reason: 'at y = 0, x = 0 the set of B is [-1, 1], which contains 0' });
  readonly kinkSites: KinkSite[] = [{ primitive: 'abs', range: [-1, 1], at: '3:9' }];
  constructor(public x: number) {
    super();
    this.y0 = Float64Array.of(0.5);
  }
  residual(y: Float64Array, out: Float64Array): void {
    out[0] = Math.abs(y[0]) - this.x;
  }
  kinkFactors(y: Float64Array): Float64Array[] {
    return [Float64Array.of(sgn(y[0]))];
  }
  kinkGaps(y: Float64Array): Float64Array[] {
    return [Float64Array.of(Math.abs(y[0]))];
  }
  jvpY(_y: Float64Array, f: readonly Float64Array[], v: Float64Array, out: Float64Array): void {
    out[0] = f[0][0] * v[0];
  }
  vjpY(y: Float64Array, f: readonly Float64Array[], w: Float64Array, out: Float64Array): void {
    this.jvpY(y, f, w, out);
  }
  jvpX(_y: Float64Array, _f: readonly Float64Array[], v: Float64Array, out: Float64Array): void {
    out[0] = -v[0];
  }
  vjpX(y: Float64Array, f: readonly Float64Array[], w: Float64Array, out: Float64Array): void {
    this.jvpX(y, f, w, out);
  }
  override outputs(y: Float64Array): Float64Array {
    return Float64Array.of(y[0]);
  }
  override outputPartials(): { y: Float64Array; x: Float64Array } {
    return { y: Float64Array.of(1), x: Float64Array.of(0) };
  }
}

export interface DeqConfig {
  /** The compiled verdict (default 'guarded' with guard opnorm(W) < 1). */
  analysis?: Partial<CompiledAnalysis> & Pick<CompiledAnalysis, 'verdict'>;
  /** The guard's bound on the actual W (default the certified upper bound on ||W||_2). */
  guard?: (W: Matrix) => number;
}

/**
 * (b), (e) A DEQ layer z = relu(W z + b), params b (m = h): F = z - relu(W z + b),
 * B = I - D W, A = -D, d_i = [ (W z + b)_i > 0 ] (0 at the kink, range [0, 1]).
 * Output loss = 0.5 ||z||^2 + sum(b).
 */
export class Deq extends BaseModel {
  readonly name = 'Deq';
  readonly unknowns: VariableLayout[];
  readonly params: VariableLayout[];
  override readonly outputNames = ['loss'];
  readonly n: number;
  readonly m: number;
  readonly analysis: CompiledAnalysis;
  readonly kinkSites: KinkSite[] = [{ primitive: 'relu', range: [0, 1], at: '7:16' }];
  override readonly hasMap = true;
  private readonly pre: Float64Array;
  private readonly tmp: Float64Array;

  constructor(
    readonly W: Matrix,
    public b: Float64Array,
    private readonly config: DeqConfig = {},
  ) {
    super();
    const h = W.rows;
    this.n = h;
    this.m = h;
    this.unknowns = [layout('z', [h], 0)];
    this.params = [layout('b', [h], 0)];
    this.analysis = analysis(
      config.analysis ?? { verdict: 'guarded', test: 'contraction', guard: 'opnorm(W) < 1', rowwise: true, reason: 'T_y = D_relu * W' },
    );
    this.pre = new Float64Array(h);
    this.tmp = new Float64Array(h);
  }
  private preactivation(z: Float64Array): Float64Array {
    matvec(this.W, z, this.pre);
    for (let i = 0; i < this.n; i++) this.pre[i] += this.b[i];
    return this.pre;
  }
  override map(z: Float64Array, out: Float64Array): void {
    const u = this.preactivation(z);
    for (let i = 0; i < this.n; i++) out[i] = Math.max(u[i], 0);
  }
  residual(z: Float64Array, out: Float64Array): void {
    const u = this.preactivation(z);
    for (let i = 0; i < this.n; i++) out[i] = z[i] - Math.max(u[i], 0);
  }
  kinkFactors(z: Float64Array): Float64Array[] {
    return [this.preactivation(z).map((v) => (v > 0 ? 1 : 0))];
  }
  kinkGaps(z: Float64Array): Float64Array[] {
    return [this.preactivation(z).map(Math.abs)];
  }
  jvpY(_z: Float64Array, f: readonly Float64Array[], v: Float64Array, out: Float64Array): void {
    matvec(this.W, v, this.tmp);
    for (let i = 0; i < this.n; i++) out[i] = v[i] - f[0][i] * this.tmp[i];
  }
  vjpY(_z: Float64Array, f: readonly Float64Array[], w: Float64Array, out: Float64Array): void {
    for (let i = 0; i < this.n; i++) this.tmp[i] = f[0][i] * w[i];
    matTvec(this.W, this.tmp, out);
    for (let i = 0; i < this.n; i++) out[i] = w[i] - out[i];
  }
  jvpX(_z: Float64Array, f: readonly Float64Array[], v: Float64Array, out: Float64Array): void {
    for (let i = 0; i < this.n; i++) out[i] = -f[0][i] * v[i];
  }
  vjpX(z: Float64Array, f: readonly Float64Array[], w: Float64Array, out: Float64Array): void {
    this.jvpX(z, f, w, out);
  }
  override outputs(z: Float64Array): Float64Array {
    let s = 0;
    for (let i = 0; i < this.n; i++) s += 0.5 * z[i] * z[i] + this.b[i];
    return Float64Array.of(s);
  }
  override outputPartials(_k: number, z: Float64Array): { y: Float64Array; x: Float64Array } {
    return { y: z.slice(), x: new Float64Array(this.m).fill(1) };
  }
  override guardBound(): number | null {
    return (this.config.guard ?? opnorm2Upper)(this.W);
  }
}

/** The Frobenius norm: a sound but loose bound on ||W||_2. */
export const frobeniusGuard = (W: Matrix): number => frobenius(W);

/**
 * (c) Lasso as the proximal-gradient fixpoint (MATH.md 6):
 * beta = ST(u, s lambda), u = beta - s X'(X beta - yv), s = 1 / ||X||_2^2.
 * B = I - D (I - s X'X), A = s D sign(u), d_i = [ |u_i| > s lambda ].
 * Output val = 0.5 ||X beta - yv||^2.
 */
export class Lasso extends BaseModel {
  readonly name = 'Lasso';
  readonly unknowns: VariableLayout[];
  readonly params = [layout('lambda', [], 0)];
  override readonly outputNames = ['val'];
  readonly n: number;
  readonly m = 1;
  readonly analysis = analysis({ verdict: 'runtime', test: 'row-wise vertex test', rowwise: true, identityRowsWhereFactorZero: 0 });
  readonly kinkSites: KinkSite[] = [{ primitive: 'soft_threshold', range: [0, 1], at: '11:18' }];
  override readonly hasMap = true;
  readonly step: number;

  constructor(
    readonly X: Matrix,
    readonly yv: Float64Array,
    public lambda: number,
    step?: number,
  ) {
    super();
    this.n = X.cols;
    this.unknowns = [layout('beta', [X.cols], 0)];
    this.step = step ?? 1 / opnorm2Upper(X) ** 2;
  }
  /** u = beta - s X'(X beta - yv). */
  private u(beta: Float64Array): Float64Array {
    const r = matvec(this.X, beta);
    for (let i = 0; i < r.length; i++) r[i] -= this.yv[i];
    const g = matTvec(this.X, r);
    return beta.map((b, i) => b - this.step * g[i]);
  }
  /** (I - s X'X) v. */
  private smooth(v: Float64Array): Float64Array {
    const g = matTvec(this.X, matvec(this.X, v));
    return v.map((t, i) => t - this.step * g[i]);
  }
  override map(beta: Float64Array, out: Float64Array): void {
    const t = this.step * this.lambda;
    this.u(beta).forEach((v, i) => {
      out[i] = Math.sign(v) * Math.max(Math.abs(v) - t, 0);
    });
  }
  residual(beta: Float64Array, out: Float64Array): void {
    this.map(beta, out);
    for (let i = 0; i < this.n; i++) out[i] = beta[i] - out[i];
  }
  kinkFactors(beta: Float64Array): Float64Array[] {
    const t = this.step * this.lambda;
    return [this.u(beta).map((v) => (Math.abs(v) > t ? 1 : 0))];
  }
  kinkGaps(beta: Float64Array): Float64Array[] {
    const t = this.step * this.lambda;
    return [this.u(beta).map((v) => Math.abs(Math.abs(v) - t))];
  }
  jvpY(_b: Float64Array, f: readonly Float64Array[], v: Float64Array, out: Float64Array): void {
    const s = this.smooth(v);
    for (let i = 0; i < this.n; i++) out[i] = v[i] - f[0][i] * s[i];
  }
  vjpY(_b: Float64Array, f: readonly Float64Array[], w: Float64Array, out: Float64Array): void {
    const s = this.smooth(w.map((t, i) => f[0][i] * t));
    for (let i = 0; i < this.n; i++) out[i] = w[i] - s[i];
  }
  jvpX(beta: Float64Array, f: readonly Float64Array[], v: Float64Array, out: Float64Array): void {
    const u = this.u(beta);
    for (let i = 0; i < this.n; i++) out[i] = this.step * f[0][i] * Math.sign(u[i]) * v[0];
  }
  vjpX(beta: Float64Array, f: readonly Float64Array[], w: Float64Array, out: Float64Array): void {
    const u = this.u(beta);
    let s = 0;
    for (let i = 0; i < this.n; i++) s += this.step * f[0][i] * Math.sign(u[i]) * w[i];
    out[0] = s;
  }
  override outputs(beta: Float64Array): Float64Array {
    const r = matvec(this.X, beta);
    let s = 0;
    for (let i = 0; i < r.length; i++) s += 0.5 * (r[i] - this.yv[i]) ** 2;
    return Float64Array.of(s);
  }
  override outputPartials(_k: number, beta: Float64Array): { y: Float64Array; x: Float64Array } {
    const r = matvec(this.X, beta);
    for (let i = 0; i < r.length; i++) r[i] -= this.yv[i];
    return { y: matTvec(this.X, r), x: new Float64Array(1) };
  }
}

/**
 * (g) A scalar fixpoint with no real fixed point: T(y) = y^2 + 1 (y^2 - y + 1 > 0).
 * F = y - y^2 - 1, B = 1 - 2y (smooth, no kinks).
 */
export class NoFixpoint extends BaseModel {
  readonly name: string = 'NoFixpoint';
  readonly unknowns = [layout('y', [], 0)];
  readonly params = [layout('x', [], 0)];
  readonly n = 1;
  readonly m = 1;
  readonly analysis = analysis({ verdict: 'unverified' });
  readonly kinkSites: KinkSite[] = [];
  override readonly hasMap = true;
  override map(y: Float64Array, out: Float64Array): void {
    out[0] = y[0] * y[0] + 1;
  }
  residual(y: Float64Array, out: Float64Array): void {
    out[0] = y[0] - y[0] * y[0] - 1;
  }
  kinkFactors(): Float64Array[] {
    return [];
  }
  kinkGaps(): Float64Array[] {
    return [];
  }
  jvpY(y: Float64Array, _f: readonly Float64Array[], v: Float64Array, out: Float64Array): void {
    out[0] = (1 - 2 * y[0]) * v[0];
  }
  vjpY(y: Float64Array, f: readonly Float64Array[], w: Float64Array, out: Float64Array): void {
    this.jvpY(y, f, w, out);
  }
  jvpX(_y: Float64Array, _f: readonly Float64Array[], _v: Float64Array, out: Float64Array): void {
    out[0] = 0;
  }
  vjpX(_y: Float64Array, _f: readonly Float64Array[], _w: Float64Array, out: Float64Array): void {
    out[0] = 0;
  }
}

/** (g) A map that leaves its domain: T(y) = sqrt(y - 5) is NaN from y0 = 0. */
export class NanMap extends NoFixpoint {
  override readonly name = 'NanMap';
  override map(y: Float64Array, out: Float64Array): void {
    out[0] = Math.sqrt(y[0] - 5);
  }
  override residual(y: Float64Array, out: Float64Array): void {
    out[0] = y[0] - Math.sqrt(y[0] - 5);
  }
}

/**
 * The DEQ with W as a parameter too: x = (W row-major, b), m = h^2 + h > n, so the
 * dense Jacobian is built in reverse mode. A xdot = -D (Wdot z + bdot).
 */
export class DeqFull extends Deq {
  override readonly params: VariableLayout[];
  override readonly m: number;
  constructor(W: Matrix, b: Float64Array) {
    super(W, b);
    const h = W.rows;
    this.params = [layout('W', [h, h], 0), layout('b', [h], h * h)];
    this.m = h * h + h;
  }
  override jvpX(z: Float64Array, f: readonly Float64Array[], v: Float64Array, out: Float64Array): void {
    const h = this.n;
    for (let i = 0; i < h; i++) {
      let s = v[h * h + i];
      for (let j = 0; j < h; j++) s += v[i * h + j] * z[j];
      out[i] = -f[0][i] * s;
    }
  }
  override vjpX(z: Float64Array, f: readonly Float64Array[], w: Float64Array, out: Float64Array): void {
    const h = this.n;
    for (let i = 0; i < h; i++) {
      const g = -f[0][i] * w[i];
      for (let j = 0; j < h; j++) out[i * h + j] = g * z[j];
      out[h * h + i] = g;
    }
  }
  override outputPartials(_k: number, z: Float64Array): { y: Float64Array; x: Float64Array } {
    const x = new Float64Array(this.m);
    x.fill(1, this.n * this.n);
    return { y: z.slice(), x };
  }
}
