import type { Tensor } from '../tensor.ts';
import { coneGap, decodeCone, projectCone, projectConeJvp, projectDualCone, type ConeSpec } from './cones.ts';

// The value kernels of the cone primitives (src/primitives/cones.ts) over tensors: the cone
// arrives as its code vector [code, size, ...] (src/ir/lower.ts), decoded once per code array
// (a generated module computes the code once per instance, from the dims).

const decoded = new WeakMap<Float64Array, ConeSpec>();

/** The cone a code tensor describes; an Error naming the mismatch when v does not have its length. */
export function coneOf(code: Tensor, length: number): ConeSpec {
  let K = decoded.get(code.data);
  if (!K) {
    K = decodeCone(code.data);
    decoded.set(code.data, K);
  }
  if (K.size !== length) throw new Error(`a vector of length ${length} cannot be projected onto a cone of length ${K.size}`);
  return K;
}

function vector(data: Float64Array): Tensor {
  return { shape: [data.length], data };
}

export function projCone(v: Tensor, code: Tensor): Tensor {
  const out = new Float64Array(v.data.length);
  projectCone(coneOf(code, v.data.length), v.data, out);
  return vector(out);
}

export function projDualCone(v: Tensor, code: Tensor): Tensor {
  const out = new Float64Array(v.data.length);
  projectDualCone(coneOf(code, v.data.length), v.data, out);
  return vector(out);
}

export function projConeJvp(v: Tensor, code: Tensor, t: Tensor): Tensor {
  const out = new Float64Array(v.data.length);
  projectConeJvp(coneOf(code, v.data.length), v.data, t.data, out);
  return vector(out);
}

/**
 * The dual projection's Jacobian: Pi_{K*} differs from Pi_K only on zero blocks (free in K*),
 * where it is the identity; elsewhere the blocks are self-dual and share Pi_K's Jacobian.
 */
export function projDualConeJvp(v: Tensor, code: Tensor, t: Tensor): Tensor {
  const K = coneOf(code, v.data.length);
  const out = new Float64Array(v.data.length);
  projectConeJvp(K, v.data, t.data, out);
  for (const b of K.blocks) if (b.kind === 'zero') out.set(t.data.subarray(b.offset, b.offset + b.size), b.offset);
  return vector(out);
}

/** The distance from the nearest switching surface of Pi_K (or Pi_{K*}: the same surfaces), shared by every entry. */
export function projConeGap(v: Tensor, code: Tensor): Float64Array {
  return new Float64Array(v.data.length).fill(coneGap(coneOf(code, v.data.length), v.data));
}
