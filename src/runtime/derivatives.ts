/**
 * Implicit derivatives at a solution (MATH.md 4): with [A B] the selected
 * element of the conservative Jacobian of F (kink factors from
 * model.kinkFactors(y), what backprop would use), the solution map y(x) has
 * the conservative Jacobian element -B^{-1} A, so
 *
 *   VJP: B^T w = ybar,  xbar = -A^T w;
 *   JVP: B ydot = -A xdot;
 *   output gradients: d o_k/dx = (d o_k/dx)_explicit - A^T w, B^T w = d o_k/dy.
 *
 * Outputs may be vectors or matrices (issue 15): k then numbers output *entries*, the flat
 * vector `outputs(y)` laid out by `outputLayout` (output-layout.ts). A vector output o_j has the
 * Jacobian d o_j/dx (its size times m), and the vector-Jacobian product with a cotangent obar is
 * one adjoint solve: obar^T d o_j/dx = <obar, d o_j/dx>_explicit - A^T w, B^T w = <obar, d o_j/dy>
 * (the chain rule through y(x), linear in obar). With no unknowns (an explicit layer, n = 0)
 * there is no B and no A: the derivative is the explicit part alone, plain AD.
 *
 * These are only justified when every B in the set is invertible: callers
 * check the certificate (certificate.ts) first; a `violated` solution must not
 * yield numbers (MATH.md 5). One factorization serves all right-hand sides.
 */
import { ImplicitSystem } from './implicit-system.ts';
import type { ImplicitSystemOptions } from './implicit-system.ts';
import type { Matrix } from './matrix.ts';
import type { ModelInstance } from './model.ts';
import { outputEntry, outputEntryCount, outputEntryName, outputLayoutOf } from './output-layout.ts';
import { SolverError } from './status.ts';
import { requireFiniteVector, requireModel } from './validate.ts';

export type DerivativeOptions = ImplicitSystemOptions;

/**
 * The implicit derivatives of one model at one solution, B factored once.
 * Construction throws SolverError('singular') when B is singular.
 */
export class ImplicitDerivatives {
  readonly system: ImplicitSystem;
  private readonly factors: readonly Float64Array[];

  constructor(
    private readonly model: ModelInstance,
    private readonly y: Float64Array,
    options: DerivativeOptions = {},
  ) {
    requireModel('ImplicitDerivatives', model);
    requireFiniteVector(`derivatives(${model.name}): y`, y, model.n);
    this.factors = model.kinkFactors(y);
    this.system = new ImplicitSystem(model, y, this.factors, options);
  }

  /** xbar = -A^T w with B^T w = ybar. */
  vjp(ybar: Float64Array): Float64Array {
    requireFiniteVector('vjp: ybar', ybar, this.model.n);
    return this.pullback(ybar);
  }

  /** ydot = -B^{-1} A xdot. */
  jvp(xdot: Float64Array): Float64Array {
    const { model } = this;
    requireFiniteVector('jvp: xdot', xdot, model.m);
    const Ax = new Float64Array(model.n);
    model.jvpX(this.y, this.factors, xdot, Ax);
    for (let i = 0; i < Ax.length; i++) Ax[i] = -Ax[i];
    return this.checked(this.system.solve(Ax), 'jvp');
  }

  /**
   * Dense dy/dx (n x m, row-major): forward mode, one solve per parameter,
   * when m <= n; reverse mode, one transposed solve per unknown, otherwise.
   */
  jacobian(): Matrix {
    const { n, m } = this.model;
    const J: Matrix = { rows: n, cols: m, data: new Float64Array(n * m) };
    if (m <= n) {
      const e = new Float64Array(m);
      for (let j = 0; j < m; j++) {
        e[j] = 1;
        const col = this.jvp(e);
        e[j] = 0;
        for (let i = 0; i < n; i++) J.data[i * m + j] = col[i];
      }
    } else {
      const e = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        e[i] = 1;
        J.data.set(this.pullback(e), i * m);
        e[i] = 0;
      }
    }
    return J;
  }

  /** For each output entry k, d o_k/dx = explicit x-partial - A^T w with B^T w = d o_k/dy. */
  outputGradients(): Float64Array[] {
    const { model } = this;
    return Array.from({ length: outputEntryCount(model) }, (_, k) => {
      const partials = this.partials(k);
      const g = this.pullback(partials.y);
      for (let j = 0; j < g.length; j++) g[j] += partials.x[j];
      return g;
    });
  }

  /**
   * sum += d o_k/dx: `outputGradients()[k]` added into a running sum (a batch's gradient)
   * without forming it, through the generated in-place kernels (addOutputPartials, addVjpX:
   * the outer products of the parameter gradients added where they belong), else from
   * outputPartials and vjpX.
   *
   * Checked (the default): the gradient is built in a scratch vector, reused across calls,
   * and a non-finite one throws SolverError('non-finite') with `sum` untouched. Unchecked
   * (`checked: false`): added straight into `sum`, where an outer product may be deferred
   * (accumulate.ts); the caller checks the sum (batchGradientAt checks it once per batch).
   */
  addOutputGradient(k: number, sum: Float64Array, options: { checked?: boolean } = {}): void {
    const { model, y, factors } = this;
    if (!Number.isInteger(k) || k < 0 || k >= outputEntryCount(model)) throw new SolverError('invalid-option', `addOutputGradient(${model.name}): no output ${k}`);
    if (sum.length !== model.m) throw new SolverError('dimension-mismatch', `addOutputGradient(${model.name}): a sum of length ${sum.length}, expected m = ${model.m}`);
    const checked = options.checked ?? true;
    const g = checked ? scratch(model.m).fill(0) : sum;
    if (model.addOutputPartials && model.addVjpX) {
      // g += explicit partial - A^T w, with B^T w = the explicit y-partial: w first, since
      // its solve is what can fail, and then nothing has reached g.
      const py = new Float64Array(model.n);
      model.addOutputPartials(k, y, factors, py, null, 1);
      const w = this.checked(this.adjoint(py), 'adjoint solve');
      model.addOutputPartials(k, y, factors, null, g, 1);
      model.addVjpX(y, factors, w, g, -1);
    } else {
      const partials = this.partials(k);
      const ATw = new Float64Array(model.m);
      model.vjpX(y, factors, this.checked(this.adjoint(partials.y), 'adjoint solve'), ATw);
      const px = partials.x;
      for (let j = 0; j < g.length; j++) g[j] += px[j] - ATw[j];
    }
    if (!checked) return;
    // Checked before anything reaches the sum.
    this.checked(g, `gradient of ${entryName(model, k)}`);
    for (let j = 0; j < g.length; j++) sum[j] += g[j];
  }

  /**
   * obar^T d o_j/dx for declared output j and a cotangent obar of its size (row-major): the
   * explicit part <obar, d o_j/dx> minus A^T w with B^T w = <obar, d o_j/dy>, one adjoint solve
   * (none without unknowns).
   */
  outputVjp(j: number, outbar: Float64Array): Float64Array {
    const { model, y, factors } = this;
    const layout = outputLayoutOf(model);
    if (!Number.isInteger(j) || j < 0 || j >= layout.length) throw new SolverError('invalid-option', `outputVjp(${model.name}): no output ${j} (its outputs: ${model.outputNames.join(', ') || 'none'})`);
    const o = layout[j];
    requireFiniteVector(`outputVjp(${model.name}): the cotangent of ${o.name}`, outbar, o.size);
    const py = new Float64Array(model.n);
    const g = new Float64Array(model.m);
    if (model.outputVjp) {
      model.outputVjp(j, outbar, y, factors, py, g, 1);
    } else {
      for (let e = 0; e < o.size; e++) {
        if (outbar[e] === 0) continue;
        const p = this.partials(o.offset + e);
        for (let i = 0; i < py.length; i++) py[i] += outbar[e] * p.y[i];
        for (let i = 0; i < g.length; i++) g[i] += outbar[e] * p.x[i];
      }
    }
    if (model.n > 0) {
      const xbar = this.pullback(py);
      for (let i = 0; i < g.length; i++) g[i] += xbar[i];
    }
    return this.checked(g, `vector-Jacobian product of ${o.name}`);
  }

  /**
   * d o_j/dx for declared output j: o_j's size rows, m columns, row-major (a scalar output: one
   * row, its gradient). Reverse mode, one adjoint solve per entry of o_j, when it has at most m
   * entries; forward mode otherwise: dy/dx once (`jacobian()`), then each row is the explicit
   * x-partial plus the explicit y-partial times dy/dx (no solve per entry).
   */
  outputJacobian(j: number): Matrix {
    const { model } = this;
    const layout = outputLayoutOf(model);
    if (!Number.isInteger(j) || j < 0 || j >= layout.length) throw new SolverError('invalid-option', `outputJacobian(${model.name}): no output ${j} (its outputs: ${model.outputNames.join(', ') || 'none'})`);
    const o = layout[j];
    const { n, m } = model;
    const J: Matrix = { rows: o.size, cols: m, data: new Float64Array(o.size * m) };
    const forward = n > 0 && m < o.size;
    const Jy = forward ? this.jacobian() : null;
    for (let e = 0; e < o.size; e++) {
      const p = this.partials(o.offset + e);
      const row = J.data.subarray(e * m, (e + 1) * m);
      row.set(p.x);
      if (n === 0) continue;
      if (Jy) {
        for (let i = 0; i < n; i++) {
          const a = p.y[i];
          if (a === 0) continue;
          const r = Jy.data.subarray(i * m, (i + 1) * m);
          for (let c = 0; c < m; c++) row[c] += a * r[c];
        }
      } else {
        const xbar = this.pullback(p.y);
        for (let c = 0; c < m; c++) row[c] += xbar[c];
      }
    }
    return { rows: J.rows, cols: J.cols, data: this.checked(J.data, `Jacobian of ${o.name}`) };
  }

  /** The explicit partials of output entry k, their lengths checked. */
  private partials(k: number): { y: Float64Array; x: Float64Array } {
    const { model } = this;
    const partials = model.outputPartials(k, this.y, this.factors);
    if (partials.y.length !== model.n || partials.x.length !== model.m) {
      throw new SolverError('dimension-mismatch', `outputPartials(${entryName(model, k)}): lengths ${partials.y.length}, ${partials.x.length}; expected ${model.n}, ${model.m}`);
    }
    return partials;
  }

  /** w with B^T w = ybar where A^T w reads it (everywhere, unless A's rows vanish on the identity rows). */
  private adjoint(ybar: Float64Array): Float64Array {
    return this.system.solveTranspose(ybar, { keptRowsOnly: this.model.analysis.paramRowsVanishWhereFactorZero });
  }

  private pullback(ybar: Float64Array): Float64Array {
    const w = this.adjoint(ybar);
    const xbar = new Float64Array(this.model.m);
    this.model.vjpX(this.y, this.factors, w, xbar);
    // Negate and check in one pass (xbar has one entry per parameter: W alone is h^2).
    let finite = true;
    for (let j = 0; j < xbar.length; j++) {
      const v = -xbar[j];
      xbar[j] = v;
      if (v - v !== 0) finite = false;
    }
    if (!finite) throw new SolverError('non-finite', `vjp of ${this.model.name}: non-finite result`);
    return xbar;
  }

  private checked(v: Float64Array, what: string): Float64Array {
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) throw new SolverError('non-finite', `${what} of ${this.model.name}: non-finite result`);
    }
    return v;
  }
}

/**
 * sum += d o_k/dx at y given w, the solution of B^T w = d o_k/dy computed elsewhere (a batched
 * backward, src/runtime/batch-backward.ts): the explicit x-partial of output k minus A^T w, by
 * the same generated kernels as {@link ImplicitDerivatives.addOutputGradient}. Checked (the
 * default): built in a scratch vector, a non-finite one throws SolverError('non-finite') with
 * `sum` untouched; unchecked: added straight in (outer products possibly deferred).
 */
export function addGradientWithAdjoint(
  model: ModelInstance,
  y: Float64Array,
  factors: readonly Float64Array[],
  k: number,
  w: Float64Array,
  sum: Float64Array,
  options: { checked?: boolean } = {},
): void {
  const checked = options.checked ?? true;
  const g = checked ? scratch(model.m).fill(0) : sum;
  if (model.addOutputPartials && model.addVjpX) {
    model.addOutputPartials(k, y, factors, null, g, 1);
    model.addVjpX(y, factors, w, g, -1);
  } else {
    const px = model.outputPartials(k, y, factors).x;
    const ATw = new Float64Array(model.m);
    model.vjpX(y, factors, w, ATw);
    for (let j = 0; j < g.length; j++) g[j] += px[j] - ATw[j];
  }
  if (!checked) return;
  for (let j = 0; j < g.length; j++) {
    if (!Number.isFinite(g[j])) throw new SolverError('non-finite', `gradient of ${entryName(model, k)} of ${model.name}: non-finite result`);
  }
  for (let j = 0; j < g.length; j++) sum[j] += g[j];
}

/** d o_k/dy at y, the right side of the adjoint system (into `out`, overwritten). */
export function outputPartialY(model: ModelInstance, y: Float64Array, factors: readonly Float64Array[], k: number, out: Float64Array): void {
  if (model.addOutputPartials) {
    out.fill(0);
    model.addOutputPartials(k, y, factors, out, null, 1);
  } else out.set(model.outputPartials(k, y, factors).y);
}

/** The name of output entry k (`s[2]`; the output's own name when it is a scalar). */
function entryName(model: ModelInstance, k: number): string {
  const layout = outputLayoutOf(model);
  try {
    const [j, e] = outputEntry(layout, k, model.name);
    return outputEntryName(layout[j], e);
  } catch {
    return `output entry ${k}`;
  }
}

let scratchVector = new Float64Array(0);
/** A vector of length m to overwrite, shared by the calls of this module (one runs at a time). */
function scratch(m: number): Float64Array {
  if (scratchVector.length !== m) scratchVector = new Float64Array(m);
  return scratchVector;
}

/** xbar = -A^T w where B^T w = ybar. */
export function vjp(model: ModelInstance, y: Float64Array, ybar: Float64Array, options?: DerivativeOptions): Float64Array {
  return new ImplicitDerivatives(model, y, options).vjp(ybar);
}

/** ydot = -B^{-1} A xdot. */
export function jvp(model: ModelInstance, y: Float64Array, xdot: Float64Array, options?: DerivativeOptions): Float64Array {
  return new ImplicitDerivatives(model, y, options).jvp(xdot);
}

/** Dense dy/dx, n x m. */
export function jacobian(model: ModelInstance, y: Float64Array, options?: DerivativeOptions): Matrix {
  return new ImplicitDerivatives(model, y, options).jacobian();
}

/** d o_j/dx for declared output j (its size x m, row-major). */
export function outputJacobian(model: ModelInstance, y: Float64Array, j: number, options?: DerivativeOptions): Matrix {
  return new ImplicitDerivatives(model, y, options).outputJacobian(j);
}

/** obar^T d o_j/dx for declared output j and a cotangent obar of its size. */
export function outputVjp(model: ModelInstance, y: Float64Array, j: number, outbar: Float64Array, options?: DerivativeOptions): Float64Array {
  return new ImplicitDerivatives(model, y, options).outputVjp(j, outbar);
}

/** d o_k/dx for every output entry k (each of length m). */
export function outputGradients(model: ModelInstance, y: Float64Array, options?: DerivativeOptions): Float64Array[] {
  return new ImplicitDerivatives(model, y, options).outputGradients();
}
