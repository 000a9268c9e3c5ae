/**
 * Hand-written batch instances of samples/deq.impl and samples/lasso.impl for the gpu.js
 * tests: explicit f64 formulas for F, T, the kink factors and B (what `solveInstance`
 * needs), the gpu spec from the real emitter on the real lowered model, and `value(name)`
 * from the reference interpreter on that model's graph, as the generated class would have
 * them. Independent of the generated module, which is wired elsewhere.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gpuMapKernels, type GpuMapSpec } from '../../codegen/emit-gpu.ts';
import { KernelWriter } from '../../codegen/kernel-writer.ts';
import { evaluate, type Bindings } from '../../src/ir/graph.ts';
import type { IrModel } from '../../src/ir/model.ts';
import type { NodeId } from '../../src/primitives/types.ts';
import { analyzeFile } from '../../src/pipeline.ts';
import type { BatchInstance } from '../../src/runtime/batch.ts';
import type { CompiledAnalysis, KinkSite, Tensor, VariableLayout } from '../../src/runtime/index.ts';

/** A sample lowered and analyzed, with a writer named as emit-module names its hoisted values. */
export interface Lowered {
  model: IrModel;
  writer: KernelWriter;
  spec: GpuMapSpec | null;
}

export function lowerSample(file: string): Lowered {
  const path = fileURLToPath(new URL(`../../samples/${file}`, import.meta.url));
  const analyzed = analyzeFile(path, readFileSync(path, 'utf8'));
  const model = analyzed.analyses[0].model;
  const names = new Map<NodeId, string>();
  for (const v of [...model.dims, ...model.data, ...model.params]) names.set(v.node, v.name);
  for (const [name, node] of model.lets) if (!names.has(node)) names.set(node, name);
  const writer = new KernelWriter(model.graph, names);
  const block = model.residual[0].fixpoint!;
  const unknown = model.unknowns.find((u) => u.name === block.unknown)!;
  return { model, writer, spec: gpuMapKernels(model.graph, block.map, unknown.node, writer) };
}

/** value(name) of the generated class: the hoisted node of that name, interpreted in f64. */
function hoistedValues(l: Lowered, bindings: Bindings): (name: string) => Tensor {
  const byName = new Map([...l.writer.hoistedNames].map(([id, name]) => [name, id]));
  return (name) => {
    const id = byName.get(name);
    if (id === undefined) throw new Error(`no hoisted value named ${name}`);
    return evaluate(l.model.graph, [id], bindings)[0];
  };
}

const vector = (data: Float64Array): Tensor => ({ shape: [data.length], data });
const matrixT = (rows: number, cols: number, data: Float64Array): Tensor => ({ shape: [rows, cols], data });
const layout = (name: string, size: number, offset = 0): VariableLayout => ({ name, shape: [size], size, offset });

/** out = M v, M row-major rows x cols. */
export function matvec(M: Float64Array, rows: number, cols: number, v: Float64Array, out = new Float64Array(rows)): Float64Array {
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let k = 0; k < cols; k++) s += M[i * cols + k] * v[k];
    out[i] = s;
  }
  return out;
}

/** out = M' v. */
export function matTvec(M: Float64Array, rows: number, cols: number, v: Float64Array, out = new Float64Array(cols)): Float64Array {
  out.fill(0);
  for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) out[k] += M[i * cols + k] * v[i];
  return out;
}

/** Largest singular value by power iteration on M'M (run to convergence; test sizes are tiny). */
export function spectralNorm(M: Float64Array, rows: number, cols: number): number {
  let v = new Float64Array(cols).fill(1);
  let sigma2 = 0;
  for (let it = 0; it < 10000; it++) {
    const w = matTvec(M, rows, cols, matvec(M, rows, cols, v));
    const norm = Math.hypot(...w);
    v = w.map((x) => x / norm);
    if (Math.abs(norm - sigma2) <= 1e-15 * norm) break;
    sigma2 = norm;
  }
  return Math.sqrt(sigma2);
}

/** The members solveInstance does not use: present for the interface, loud if called. */
abstract class HandWritten {
  readonly outputNames: readonly string[] = [];
  readonly m = 0;
  readonly params: readonly VariableLayout[] = [];
  readonly hasMap = true;
  abstract readonly name: string;
  kinkGaps(): Float64Array[] {
    throw new Error(`${this.name}: kinkGaps is not needed by the batch tests`);
  }
  vjpY(): void {
    throw new Error(`${this.name}: vjpY is not needed by the batch tests`);
  }
  jvpX(): void {
    throw new Error(`${this.name}: jvpX is not needed by the batch tests`);
  }
  vjpX(): void {
    throw new Error(`${this.name}: vjpX is not needed by the batch tests`);
  }
  outputs(): Float64Array {
    return new Float64Array(0);
  }
  outputPartials(): { y: Float64Array; x: Float64Array } {
    throw new Error(`${this.name}: no outputs`);
  }
  guardBound(): number | null {
    return null;
  }
}

const ANALYSIS: CompiledAnalysis = { verdict: 'guarded', test: 'hand-written', guard: null, rowwise: true, identityRowsWhereFactorZero: null, paramRowsVanishWhereFactorZero: false, nonDiagonalKinks: false, reason: 'hand-written test model' };

/** Deq: z = relu(W z + U u + b), W h x h, U h x d. */
export class DeqInstance extends HandWritten implements BatchInstance {
  readonly name = 'Deq';
  readonly unknowns: VariableLayout[];
  readonly n: number;
  readonly analysis = ANALYSIS;
  readonly kinkSites: KinkSite[] = [{ primitive: 'relu', range: [0, 1], at: '10:16' }];
  readonly value: (name: string) => Tensor;
  readonly gpu: GpuMapSpec | null;
  /** U u + b: fixed for the instance. */
  private readonly shift: Float64Array;

  constructor(
    lowered: Lowered,
    readonly W: Float64Array,
    readonly U: Float64Array,
    readonly b: Float64Array,
    readonly u: Float64Array,
  ) {
    super();
    const h = b.length;
    const d = u.length;
    this.n = h;
    this.unknowns = [layout('z', h)];
    this.shift = matvec(U, h, d, u).map((x, i) => x + b[i]);
    this.value = hoistedValues(lowered, {
      dims: { h, d },
      inputs: { W: matrixT(h, h, W), U: matrixT(h, d, U), b: vector(b), u: vector(u) },
    });
    this.gpu = lowered.spec;
  }

  private pre(z: Float64Array): Float64Array {
    return matvec(this.W, this.n, this.n, z).map((x, i) => x + this.shift[i]);
  }
  initial(): Float64Array {
    return new Float64Array(this.n);
  }
  map(z: Float64Array, out: Float64Array): void {
    this.pre(z).forEach((x, i) => (out[i] = Math.max(x, 0)));
  }
  residual(z: Float64Array, out: Float64Array): void {
    this.map(z, out);
    for (let i = 0; i < this.n; i++) out[i] = z[i] - out[i];
  }
  kinkFactors(z: Float64Array): Float64Array[] {
    return [this.pre(z).map((x) => (x > 0 ? 1 : 0))];
  }
  /** B v = v - D W v. */
  jvpY(_z: Float64Array, [D]: readonly Float64Array[], v: Float64Array, out: Float64Array): void {
    const Wv = matvec(this.W, this.n, this.n, v);
    for (let i = 0; i < this.n; i++) out[i] = v[i] - D[i] * Wv[i];
  }
}

/** Lasso: beta = soft_threshold(beta - step X'(X beta - y), step lambda), step = 1 / ||X||^2. */
export class LassoInstance extends HandWritten implements BatchInstance {
  readonly name = 'Lasso';
  readonly unknowns: VariableLayout[];
  readonly n: number;
  readonly analysis = ANALYSIS;
  readonly kinkSites: KinkSite[] = [{ primitive: 'soft_threshold', range: [0, 1], at: '13:17' }];
  readonly value: (name: string) => Tensor;
  readonly gpu: GpuMapSpec | null;
  private readonly rows: number;
  private readonly step: number;

  constructor(
    lowered: Lowered,
    readonly X: Float64Array,
    readonly y: Float64Array,
    readonly lambda: number,
    validation: { Xv: Float64Array; yv: Float64Array },
  ) {
    super();
    const n = y.length;
    const p = X.length / n;
    const m = validation.yv.length;
    this.rows = n;
    this.n = p;
    this.unknowns = [layout('beta', p)];
    // Independent of the registry's opnorm: the fixed point does not depend on the step.
    this.step = 1 / spectralNorm(X, n, p) ** 2;
    this.value = hoistedValues(lowered, {
      dims: { n, p, m },
      inputs: {
        X: matrixT(n, p, X),
        y: vector(y),
        Xv: matrixT(m, p, validation.Xv),
        yv: vector(validation.yv),
        lambda: { shape: [], data: Float64Array.of(lambda) },
      },
    });
    this.gpu = lowered.spec;
  }

  /** The gradient step beta - step X'(X beta - y). */
  private gradientStep(beta: Float64Array): Float64Array {
    const r = matvec(this.X, this.rows, this.n, beta).map((x, i) => x - this.y[i]);
    const g = matTvec(this.X, this.rows, this.n, r);
    return beta.map((x, i) => x - this.step * g[i]);
  }
  initial(): Float64Array {
    return new Float64Array(this.n);
  }
  map(beta: Float64Array, out: Float64Array): void {
    const t = this.step * this.lambda;
    this.gradientStep(beta).forEach((v, i) => (out[i] = Math.sign(v) * Math.max(Math.abs(v) - t, 0)));
  }
  residual(beta: Float64Array, out: Float64Array): void {
    this.map(beta, out);
    for (let i = 0; i < this.n; i++) out[i] = beta[i] - out[i];
  }
  kinkFactors(beta: Float64Array): Float64Array[] {
    const t = this.step * this.lambda;
    return [this.gradientStep(beta).map((v) => (Math.abs(v) > t ? 1 : 0))];
  }
  /** B v = v - D (v - step X'X v). */
  jvpY(_beta: Float64Array, [D]: readonly Float64Array[], v: Float64Array, out: Float64Array): void {
    const XtXv = matTvec(this.X, this.rows, this.n, matvec(this.X, this.rows, this.n, v));
    for (let i = 0; i < this.n; i++) out[i] = v[i] - D[i] * (v[i] - this.step * XtXv[i]);
  }
}
