/**
 * The gpu.js path of a generated module (DESIGN.md "Generated modules"): one application of
 * a fixed-point map y = T(y) over a whole batch, as a pipeline of gpu.js kernel sources.
 *
 * Every kernel runs on an output of [size, B] in gpu.js terms: `this.thread.x` is entry i of
 * the stage's output vector, `this.thread.y` is sample b. A kernel body is straight-line
 * scalar code for entry i: elementwise primitives through their registry `scalarExpr`, and
 * matrix-vector products `M * v` as a loop over k. Such a loop reads every entry of v, so v
 * must exist in memory before the kernel runs: when v is not the unknown itself, it is the
 * output of an earlier stage. Lasso's ISTA map
 *
 *   soft_threshold(beta - step * X' * (X * beta - y), step * lambda)
 *
 * becomes stage 0: r = X * beta - y (n entries per sample) and stage 1: the rest, reading r.
 *
 * Every stage is also written as an f64 CPU kernel over flat sample-major arrays (`cpu`):
 * there the products `M * v` are not loops in the entry's code but inputs, which the runtime
 * computes for the whole batch first, as one blocked matrix product M V^T (batch.ts
 * `BatchMapF64`): the matrix is read once per batch instead of once per sample.
 *
 * Everything that does not move with the unknown was computed once by the generated class
 * (its hoisted values) and is passed in by its `KernelWriter.hoistedName`. What the kernels
 * cannot express (reductions over the unknown, projections, products with a moving matrix)
 * gives no gpu path at all: callers fall back to the f64 kernels.
 */
import type { Graph } from '../src/ir/graph.ts';
import { isDimName, isScalar } from '../src/ir/shape.ts';
import { primitive } from '../src/primitives/registry.ts';
import type { NodeId } from '../src/primitives/types.ts';
import type { GpuArg, GpuMapSpec, GpuProduct, GpuStage } from '../src/runtime/batch.ts';
import type { KernelWriter } from './kernel-writer.ts';

// The spec is what generated modules carry and the runtime executes, so it is declared there.
export type { GpuArg, GpuBound, GpuMapSpec, GpuProduct, GpuStage } from '../src/runtime/batch.ts';

/** Thrown inside the translation when a node has no gpu.js form; turned into `null`. */
class Unsupported extends Error {}

/**
 * The pipeline computing T for a batch, or null when the map has a node the kernels cannot
 * express. `map` is T's root, `unknown` the input node of the (single, vector) unknown.
 */
export function gpuMapKernels(graph: Graph, map: NodeId, unknown: NodeId, writer: KernelWriter): GpuMapSpec | null {
  const u = graph.node(unknown);
  if (u.op !== 'input' || (u as { role: string }).role !== 'unknown' || u.type.shape.length !== 1) return null;
  if (graph.shape(map).length !== 1) return null;
  try {
    const pipeline = new Pipeline(graph, unknown, writer);
    pipeline.materialize(map);
    return { unknown: (u as { name: string }).name, stages: pipeline.stages };
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

/** Kernel parameter names: the unknown, earlier stages, hoisted values (prefixed: a hoisted `y` must not shadow the unknown). */
const Y = 'y';
const stageParam = (j: number) => `s${j}`;
/**
 * The parameter of a hoisted value: `c_` and its name with `Q` written `QQ` and `$` written
 * `Q_` (`c_X`, `c_Q_t9` for the invented `$t9`): one distinct name per hoisted name, without
 * the `$` that the GLSL gpu.js writes cannot hold; null for a name outside ASCII.
 */
const argParam = (name: string): string | null => {
  const param = `c_${name.replace(/Q/g, 'QQ').replace(/\$/g, 'Q_')}`;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(param) ? param : null;
};

class Pipeline {
  readonly stages: GpuStage[] = [];
  /** Dynamic nodes already materialized, by the stage that outputs them. */
  private readonly stageOf = new Map<NodeId, number>();

  constructor(
    readonly graph: Graph,
    readonly unknown: NodeId,
    readonly writer: KernelWriter,
  ) {}

  /**
   * The kernel parameter holding all entries of vector `id` (per sample), building a stage if
   * needed, and that stage's index (null: the unknown itself).
   */
  vectorParam(id: NodeId, reader: StageWriter): { param: string; stage: number | null } {
    if (id === this.unknown) return { param: Y, stage: null };
    const j = this.stageOf.get(id) ?? this.materialize(id);
    reader.inputs.add(j);
    return { param: stageParam(j), stage: j };
  }

  /** Adds a stage outputting vector `root` (its stages first); returns its index. */
  materialize(root: NodeId): number {
    const stage = new StageWriter(this);
    const result = stage.entry(root);
    const j = this.stages.length;
    this.stages.push(stage.finish(result, this.sizeOf(root)));
    this.stageOf.set(root, j);
    return j;
  }

  /** A vector's length: a literal, or the hoisted name of the dim (whose value is that scalar). */
  private sizeOf(id: NodeId): string | number {
    const d = this.graph.shape(id)[0];
    if (typeof d === 'number') return d;
    // A sum of dims (concatenation's sizes) has no hoisted value of its own: the batched plan stays on the per-sample path.
    if (!isDimName(d)) throw new Unsupported(`a vector of size ${d}`);
    const dim = this.graph.nodes.find((n) => n.op === 'input' && (n as { role: string }).role === 'dim' && (n as { name: string }).name === d);
    return dim ? this.writer.hoistedName(dim.id) : d;
  }
}

/**
 * A scalar expression for entry i of sample b, in the two forms a stage is written in: `g`
 * for the gpu.js kernel (2-D arguments, `y[b][i]`), `c` for the f64 CPU kernel (flat
 * sample-major arrays, `y[b * ny + i]`). Locals have the same name in both.
 */
interface Entry {
  g: string;
  c: string;
}
const both = (s: string): Entry => ({ g: s, c: s });

/**
 * One kernel: statements for entry `i` of sample `b`, and what it reads, in two forms: the
 * gpu.js kernel (a matrix-vector product is a loop over k in the entry's code) and the f64
 * CPU kernel of the same stage (`GpuStage.cpu`), where every such product is computed for
 * the whole batch beforehand, as one blocked matrix product, and the entry code reads it.
 */
class StageWriter {
  readonly lines: string[] = [];
  readonly cpuLines: string[] = [];
  readonly inputs = new Set<number>();
  private readonly args = new Map<string, GpuArg['kind']>();
  private readonly bounds: GpuStage['bounds'] = [];
  private readonly products: GpuProduct[] = [];
  /** Locals already computed in this kernel, by node. */
  private readonly locals = new Map<NodeId, string>();

  constructor(private readonly p: Pipeline) {}

  /** Entry i of `id` (entry 0 when `id` is a scalar that broadcasts). */
  entry(id: NodeId): Entry {
    const { graph, writer } = this.p;
    const n = graph.node(id);
    if (n.op === 'const') return both(literal((n as { value: number }).value));
    if (!writer.dynamic(id)) return this.hoisted(id);
    const local = this.locals.get(id);
    if (local) return both(local);
    if (id === this.p.unknown) return { g: `${Y}[b][i]`, c: `${Y}[b * ny + i]` };
    if (n.op === 'input') throw new Unsupported(`input ${(n as { name: string }).name} moves but is not the unknown`);
    // A moving scalar comes from a reduction over the unknown: not expressible per entry.
    if (n.type.shape.length !== 1) throw new Unsupported(`${n.op} gives a moving non-vector`);

    const prim = primitive(n.op);
    if (prim.structure.repeatsFirst) {
      // A scalar repeated (broadcast): it moves only through the shape it takes, so every
      // entry is the (fixed) scalar argument.
      if (writer.dynamic(n.args[0])) throw new Unsupported(`${n.op} of a moving scalar`);
      return this.entry(n.args[0]);
    }
    if (prim.structure.linearForm === 'matrix product') return this.matvec(id, n.args[0], n.args[1]);
    const scalarExpr = prim.scalarExpr;
    if (!prim.structure.elementwise || !scalarExpr) throw new Unsupported(`${n.op} is not elementwise`);
    const args = n.args.map((a) => this.entry(a));
    const name = `t${id}`;
    this.lines.push(`const ${name} = ${scalarExpr(args.map((a) => a.g))};`);
    this.cpuLines.push(`const ${name} = ${scalarExpr(args.map((a) => a.c))};`);
    this.locals.set(id, name);
    return both(name);
  }

  /**
   * `M * v` with M fixed and v moving: in the gpu.js kernel, a dot product of row i with the
   * materialized v; in the CPU kernel, entry i of the product the runtime computed for every
   * sample before the kernel runs (`products`).
   */
  private matvec(id: NodeId, m: NodeId, v: NodeId): Entry {
    const { graph, writer } = this.p;
    if (writer.dynamic(m) || graph.shape(m).length !== 2 || graph.shape(v).length !== 1) {
      throw new Unsupported('matmul other than a fixed matrix times a moving vector');
    }
    const M = this.arg(m, 'matrix');
    const { param: vec, stage } = this.p.vectorParam(v, this);
    // The loop bound is M's column count, a kernel constant: gpu.js silently cuts a bound
    // read from an argument at its default loopMaxIterations.
    const bound = `cols${id}`;
    this.bounds.push({ constant: bound, arg: writer.hoistedName(m), axis: 1 });
    const acc = `t${id}`;
    const k = `k${id}`;
    this.lines.push(
      `let ${acc} = 0.0;`,
      `for (let ${k} = 0; ${k} < this.constants.${bound}; ${k}++) {`,
      `  ${acc} += ${M}[i][${k}] * ${vec}[b][${k}];`,
      '}',
    );
    const product = productParam(this.products.length);
    this.products.push({ matrix: this.p.writer.hoistedName(m), vector: stage });
    this.cpuLines.push(`const ${acc} = ${product}[bi];`);
    this.locals.set(id, acc);
    return both(acc);
  }

  /** A hoisted value, read for entry i of sample b (scalars at entry 0). */
  private hoisted(id: NodeId): Entry {
    const shape = this.p.graph.shape(id);
    if (isScalar(shape)) {
      const name = this.arg(id, 'scalar');
      return { g: `${name}[b][0]`, c: `${name}[b]` };
    }
    if (shape.length === 1) {
      const name = this.arg(id, 'vector');
      return { g: `${name}[b][i]`, c: `${name}[bi]` };
    }
    throw new Unsupported('a fixed matrix used entrywise');
  }

  /** Records a hoisted value the kernel reads; returns its kernel parameter. */
  private arg(id: NodeId, kind: GpuArg['kind']): string {
    const name = this.p.writer.hoistedName(id);
    const param = argParam(name);
    if (param === null) throw new Unsupported(`hoisted name ${name} has no ASCII kernel parameter`);
    const seen = this.args.get(name);
    if (seen !== undefined && seen !== kind) throw new Unsupported(`${name} used as ${seen} and ${kind}`);
    this.args.set(name, kind);
    return param;
  }

  finish(result: Entry, size: string | number): GpuStage {
    const inputs = [...this.inputs].sort((a, b) => a - b);
    const args = [...this.args].map(([name, kind]) => ({ name, kind }));
    const params = [Y, ...inputs.map(stageParam), ...args.map((a) => argParam(a.name)!)];
    const source = [
      `function (${params.join(', ')}) {`,
      '  const b = this.thread.y;',
      '  const i = this.thread.x;',
      ...this.lines.map((l) => `  ${l}`),
      `  return ${result.g};`,
      '}',
    ].join('\n');
    // The CPU kernel reads the unknown, the products and the vector and scalar args; the
    // stage inputs and the matrices are only read by the products.
    const cpuParams = ['B', 'n', 'ny', Y, ...this.products.map((_, j) => productParam(j)), ...args.filter((a) => a.kind !== 'matrix').map((a) => argParam(a.name)!), 'out'];
    const cpuSource = [
      `function (${cpuParams.join(', ')}) {`,
      '  for (let b = 0; b < B; b++) {',
      '    for (let i = 0, bi = b * n; i < n; i++, bi++) {',
      ...this.cpuLines.map((l) => `      ${l}`),
      `      out[bi] = ${result.c};`,
      '    }',
      '  }',
      '}',
    ].join('\n');
    return { source, size, args, inputs, bounds: this.bounds, cpu: { source: cpuSource, products: this.products } };
  }
}

const productParam = (j: number) => `p${j}`;

/** A float literal gpu.js types as a float (`2.0`, not the integer `2`), negatives parenthesized. */
function literal(v: number): string {
  if (!Number.isFinite(v)) throw new Unsupported(`constant ${v}`);
  let s = String(Math.abs(v));
  if (!/[.e]/.test(s)) s += '.0';
  return v < 0 || Object.is(v, -0) ? `(-${s})` : s;
}
