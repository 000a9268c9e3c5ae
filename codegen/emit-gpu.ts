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
 * Everything that does not move with the unknown was computed once by the generated class
 * (its hoisted values) and is passed in by its `KernelWriter.hoistedName`. What the kernels
 * cannot express (reductions over the unknown, projections, products with a moving matrix)
 * gives no gpu path at all: callers fall back to the f64 kernels.
 */
import type { Graph } from '../src/ir/graph.ts';
import { isScalar } from '../src/ir/shape.ts';
import { primitive } from '../src/primitives/registry.ts';
import type { NodeId } from '../src/primitives/types.ts';
import type { GpuArg, GpuMapSpec, GpuStage } from '../src/runtime/batch.ts';
import type { KernelWriter } from './kernel-writer.ts';

// The spec is what generated modules carry and the runtime executes, so it is declared there.
export type { GpuArg, GpuBound, GpuMapSpec, GpuStage } from '../src/runtime/batch.ts';

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
const argParam = (name: string) => `c_${name}`;

class Pipeline {
  readonly stages: GpuStage[] = [];
  /** Dynamic nodes already materialized, by the stage that outputs them. */
  private readonly stageOf = new Map<NodeId, number>();

  constructor(
    readonly graph: Graph,
    readonly unknown: NodeId,
    readonly writer: KernelWriter,
  ) {}

  /** The kernel parameter holding all entries of vector `id` (per sample), building a stage if needed. */
  vectorParam(id: NodeId, reader: StageWriter): string {
    if (id === this.unknown) return Y;
    const j = this.stageOf.get(id) ?? this.materialize(id);
    reader.inputs.add(j);
    return stageParam(j);
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
    const dim = this.graph.nodes.find((n) => n.op === 'input' && (n as { role: string }).role === 'dim' && (n as { name: string }).name === d);
    return dim ? this.writer.hoistedName(dim.id) : d;
  }
}

/** One kernel: statements for entry `i` of sample `b`, and what it reads. */
class StageWriter {
  readonly lines: string[] = [];
  readonly inputs = new Set<number>();
  private readonly args = new Map<string, GpuArg['kind']>();
  private readonly bounds: GpuStage['bounds'] = [];
  /** Locals already computed in this kernel, by node. */
  private readonly locals = new Map<NodeId, string>();

  constructor(private readonly p: Pipeline) {}

  /** A scalar expression for entry i of `id` (entry 0 when `id` is a scalar that broadcasts). */
  entry(id: NodeId): string {
    const { graph, writer } = this.p;
    const n = graph.node(id);
    if (n.op === 'const') return literal((n as { value: number }).value);
    if (!writer.dynamic(id)) return this.hoisted(id);
    const local = this.locals.get(id);
    if (local) return local;
    if (id === this.p.unknown) return `${Y}[b][i]`;
    if (n.op === 'input') throw new Unsupported(`input ${(n as { name: string }).name} moves but is not the unknown`);
    // A moving scalar comes from a reduction over the unknown: not expressible per entry.
    if (n.type.shape.length !== 1) throw new Unsupported(`${n.op} gives a moving non-vector`);

    if (n.op === 'broadcast') {
      // Moves only through `like`; its value is the (fixed) scalar argument everywhere.
      if (writer.dynamic(n.args[0])) throw new Unsupported('broadcast of a moving scalar');
      return this.entry(n.args[0]);
    }
    if (n.op === 'matmul') return this.matvec(id, n.args[0], n.args[1]);
    const prim = primitive(n.op);
    if (!prim.structure.elementwise || !prim.scalarExpr) throw new Unsupported(`${n.op} is not elementwise`);
    const expr = prim.scalarExpr(n.args.map((a) => this.entry(a)));
    const name = `t${id}`;
    this.lines.push(`const ${name} = ${expr};`);
    this.locals.set(id, name);
    return name;
  }

  /** `M * v` with M fixed and v moving: a dot product of row i with the materialized v. */
  private matvec(id: NodeId, m: NodeId, v: NodeId): string {
    const { graph, writer } = this.p;
    if (writer.dynamic(m) || graph.shape(m).length !== 2 || graph.shape(v).length !== 1) {
      throw new Unsupported('matmul other than a fixed matrix times a moving vector');
    }
    const M = argParam(this.arg(m, 'matrix'));
    const vec = this.p.vectorParam(v, this);
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
    this.locals.set(id, acc);
    return acc;
  }

  /** A hoisted value, read for entry i of sample b (scalars at entry 0). */
  private hoisted(id: NodeId): string {
    const shape = this.p.graph.shape(id);
    if (isScalar(shape)) return `${argParam(this.arg(id, 'scalar'))}[b][0]`;
    if (shape.length === 1) return `${argParam(this.arg(id, 'vector'))}[b][i]`;
    throw new Unsupported('a fixed matrix used entrywise');
  }

  private arg(id: NodeId, kind: GpuArg['kind']): string {
    const name = this.p.writer.hoistedName(id);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Unsupported(`hoisted name ${name} is not an identifier`);
    const seen = this.args.get(name);
    if (seen !== undefined && seen !== kind) throw new Unsupported(`${name} used as ${seen} and ${kind}`);
    this.args.set(name, kind);
    return name;
  }

  finish(result: string, size: string | number): GpuStage {
    const inputs = [...this.inputs].sort((a, b) => a - b);
    const args = [...this.args].map(([name, kind]) => ({ name, kind }));
    const params = [Y, ...inputs.map(stageParam), ...args.map((a) => argParam(a.name))];
    const source = [
      `function (${params.join(', ')}) {`,
      '  const b = this.thread.y;',
      '  const i = this.thread.x;',
      ...this.lines.map((l) => `  ${l}`),
      `  return ${result};`,
      '}',
    ].join('\n');
    return { source, size, args, inputs, bounds: this.bounds };
  }
}

/** A float literal gpu.js types as a float (`2.0`, not the integer `2`), negatives parenthesized. */
function literal(v: number): string {
  if (!Number.isFinite(v)) throw new Unsupported(`constant ${v}`);
  let s = String(Math.abs(v));
  if (!/[.e]/.test(s)) s += '.0';
  return v < 0 || Object.is(v, -0) ? `(-${s})` : s;
}
