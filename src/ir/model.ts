import type { Span } from '../diagnostics/span.ts';
import type { NodeId } from '../primitives/types.ts';
import type { Graph } from './graph.ts';
import type { Shape } from './shape.ts';

/** A declared input or unknown, as the IR sees it. */
export interface IrVariable {
  name: string;
  shape: Shape;
  node: NodeId;
  span: Span;
}

/** One block of the residual F(x, y) = 0: a fixpoint `y = T` gives F = y - T. */
export interface ResidualBlock {
  node: NodeId;
  span: Span;
  /** For a fixpoint: the unknown and its map T (MATH.md 4: B = I - T_y, A = -T_x). */
  fixpoint: { unknown: string; map: NodeId } | null;
}

export interface IrRequire {
  node: NodeId;
  span: Span;
  text: string;
}

export interface IrCone {
  name: string;
  size: Shape[number];
  declared: Shape[number] | null;
  blocks: { kind: 'zero' | 'nonneg' | 'soc' | 'psd'; size: Shape[number] }[];
  node: NodeId;
  span: Span;
}

/** A lowered model: one graph holding F, the fixed-point maps, the outputs and the guards. */
export interface IrModel {
  name: string;
  span: Span;
  graph: Graph;
  dims: IrVariable[];
  data: IrVariable[];
  params: IrVariable[];
  unknowns: (IrVariable & { init: NodeId })[];
  lets: Map<string, NodeId>;
  /** The residual blocks in declaration order; their sizes sum to the unknowns' size. */
  residual: ResidualBlock[];
  outputs: { name: string; node: NodeId; span: Span }[];
  requires: IrRequire[];
  /**
   * The declared cones: blocks (kind, size: a dim expression, a psd block's matrix order), the
   * length (declared or the blocks' sum) and the node of their code vector (src/ir/lower.ts).
   */
  cones: IrCone[];
  /** Nodes below this id come from the source; later ones were made by passes (AD). */
  primalCount: number;
  /**
   * The source text of a node from the source (whitespace collapsed), null for nodes made by
   * passes: how names in messages quote the model. The source text stops at lowering; every
   * later stage reads it through here.
   */
  textOf(id: NodeId): string | null;
}
