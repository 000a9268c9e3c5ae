import { psdWeights, symmetricEigen } from './projections.ts';

// Projections onto product cones K = K_1 x ... x K_m (zero cones, nonnegative orthants,
// second-order cones, PSD cones in svec form, as SCS lays them out), their selected
// conservative Jacobians, the alternative pieces at ties, and the distance to the switching
// surfaces. Every Jacobian piece here is symmetric with spectrum in [0, 1] (MATH.md section 6:
// the Jacobian of a projection onto a closed convex set is a hull of such pieces), so one
// kernel serves the JVP and the VJP. The selection at a kink is the one projections.ts makes:
// nonneg 0 at v_i = 0, projSocJvp's pieces for a second-order cone, psdWeights for a PSD cone.

export type ConeBlockKind = 'zero' | 'nonneg' | 'soc' | 'psd';

/**
 * One block of a product cone: rows offset .. offset + size - 1 of v. `order` is the matrix
 * order k of a PSD block (size = k(k+1)/2) and equals `size` for the other kinds.
 */
export interface ConeBlock {
  kind: ConeBlockKind;
  offset: number;
  size: number;
  order: number;
}

/** A product cone: its blocks in order (one per pair of the code, empty ones included) and the total length. */
export interface ConeSpec {
  blocks: readonly ConeBlock[];
  size: number;
}

/** The numeric kind codes of the flat encoding [code0, p0, code1, p1, ...]. */
export const CONE_CODES: Readonly<Record<ConeBlockKind, number>> = Object.freeze({ zero: 0, nonneg: 1, soc: 2, psd: 3 });

const KINDS: readonly ConeBlockKind[] = ['zero', 'nonneg', 'soc', 'psd'];

/**
 * Decodes the flat cone code [code0, p0, code1, p1, ...]: code 0 = zero cone {0} (p its length),
 * 1 = nonnegative orthant (p its length), 2 = second-order cone {(t, x) : |x|_2 <= t} (p its
 * length >= 1, t the block's first entry), 3 = PSD cone of order p (length p(p+1)/2, svec).
 * A block of length 0 is allowed and is kept in `blocks` (size 0, it owns no rows), so that
 * block indices, here and in {@link ConeTie}, are the pair's position in the code.
 */
export function decodeCone(code: ArrayLike<number>): ConeSpec {
  if (code.length % 2 !== 0) {
    throw new Error(`cone code: length ${code.length} is odd; expected pairs [kind, size, kind, size, ...]`);
  }
  const blocks: ConeBlock[] = [];
  let offset = 0;
  for (let b = 0; b < code.length / 2; b++) {
    const c = code[2 * b];
    const p = code[2 * b + 1];
    if (!Number.isInteger(c) || c < 0 || c >= KINDS.length) {
      throw new Error(`cone code: block ${b + 1} has kind code ${c}; expected 0 (zero), 1 (nonneg), 2 (soc) or 3 (psd)`);
    }
    const kind = KINDS[c];
    if (!Number.isSafeInteger(p) || p < 0) {
      throw new Error(`cone code: block ${b + 1} (${kind}) has ${kind === 'psd' ? 'order' : 'length'} ${p}; expected a nonnegative integer`);
    }
    if (kind === 'soc' && p === 0) {
      throw new Error(`cone code: block ${b + 1} (soc) has length 0; a second-order cone needs length >= 1 (its first entry is t)`);
    }
    const size = kind === 'psd' ? (p * (p + 1)) / 2 : p;
    blocks.push({ kind, offset, size, order: p });
    offset += size;
  }
  return { blocks, size: offset };
}

/** The flat code of a list of blocks (n = length; the matrix order for psd), validated as {@link decodeCone} does. */
export function encodeCone(blocks: readonly { kind: ConeBlockKind; n: number }[]): Float64Array {
  const code = new Float64Array(2 * blocks.length);
  blocks.forEach((b, i) => {
    const c = CONE_CODES[b.kind];
    code[2 * i] = c === undefined ? NaN : c;
    code[2 * i + 1] = b.n;
  });
  decodeCone(code);
  return code;
}

/** Position of the lower-triangle entry (i, j), i >= j, in svec of a k x k matrix (column-major lower triangle). */
function svecIndex(i: number, j: number, k: number): number {
  return j * k - (j * (j - 1)) / 2 + (i - j);
}

/**
 * svec of a k x k matrix (row-major; its symmetric part (X + X^T) / 2 is taken, X itself when
 * symmetric): the lower triangle column by column, off-diagonal entries times sqrt(2), so that
 * <svec X, svec Y> = trace(X Y) and svec is an isometry from the symmetric matrices.
 */
export function svec(X: Float64Array, k: number): Float64Array {
  if (X.length !== k * k) throw new Error(`svec: a ${k} x ${k} matrix has ${k * k} entries, got ${X.length}`);
  const out = new Float64Array((k * (k + 1)) / 2);
  let a = 0;
  for (let j = 0; j < k; j++) {
    out[a++] = X[j * k + j];
    for (let i = j + 1; i < k; i++) out[a++] = (Math.SQRT1_2 * (X[i * k + j] + X[j * k + i]));
  }
  return out;
}

/** The inverse of {@link svec}: the full symmetric k x k matrix (row-major) of v, off-diagonal entries divided by sqrt(2). */
export function smat(v: Float64Array, k: number): Float64Array {
  if (v.length !== (k * (k + 1)) / 2) throw new Error(`smat: svec of order ${k} has ${(k * (k + 1)) / 2} entries, got ${v.length}`);
  const X = new Float64Array(k * k);
  let a = 0;
  for (let j = 0; j < k; j++) {
    X[j * k + j] = v[a++];
    for (let i = j + 1; i < k; i++) {
      const x = Math.SQRT1_2 * v[a++];
      X[i * k + j] = x;
      X[j * k + i] = x;
    }
  }
  return X;
}

function checkLengths(K: ConeSpec, what: string, arrays: Record<string, Float64Array>): void {
  for (const [name, a] of Object.entries(arrays)) {
    if (a.length !== K.size) throw new Error(`${what}: ${name} has length ${a.length}, the cone has ${K.size} rows`);
  }
}

/** v = (t, x) of a second-order block: t, |x| (as projections.ts's splitCone, so that the selections agree) and x's offset. */
function socParts(v: Float64Array, block: ConeBlock): { t: number; norm: number } {
  let s = 0;
  for (let i = block.offset + 1; i < block.offset + block.size; i++) s += v[i] * v[i];
  return { t: v[block.offset], norm: Math.sqrt(s) };
}

/** The eigendecomposition of smat(v's block), eigenvalues ascending; Q[i * k + c] is entry i of the c-th eigenvector. */
function psdEigen(v: Float64Array, block: ConeBlock): { values: Float64Array; Q: Float64Array } {
  const k = block.order;
  const { values, vectors } = symmetricEigen(smat(v.subarray(block.offset, block.offset + block.size), k), k);
  const order = Array.from(values.keys()).sort((a, b) => values[a] - values[b]);
  const Q = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let c = 0; c < k; c++) Q[i * k + c] = vectors[i * k + order[c]];
  return { values: Float64Array.from(order, (c) => values[c]), Q };
}

/** Q diag(d) Q^T, or Q (G .* M) Q^T for a symmetric weight matrix G, built exactly symmetric. */
function conjugate(Q: Float64Array, W: Float64Array, k: number): Float64Array {
  const QW = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let c = 0; c < k; c++) {
      const q = Q[i * k + c];
      if (q === 0) continue;
      for (let j = 0; j < k; j++) QW[i * k + j] += q * W[c * k + j];
    }
  }
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += QW[i * k + c] * Q[j * k + c];
      out[i * k + j] = s;
      out[j * k + i] = s;
    }
  }
  return out;
}

/** Writes Pi of each block into out; `dual` makes the zero cone's block the identity (its dual is the whole space). */
function project(K: ConeSpec, v: Float64Array, out: Float64Array, dual: boolean): void {
  for (const block of K.blocks) {
    const { offset: o, size: n } = block;
    if (n === 0) continue;
    switch (block.kind) {
      case 'zero':
        for (let i = o; i < o + n; i++) out[i] = dual ? v[i] : 0;
        break;
      case 'nonneg':
        for (let i = o; i < o + n; i++) out[i] = Math.max(v[i], 0);
        break;
      case 'soc': {
        // v inside, 0 in the polar cone, else ((t + |x|) / 2) (1, x / |x|) (projSoc).
        const { t, norm } = socParts(v, block);
        if (norm <= t) {
          for (let i = o; i < o + n; i++) out[i] = v[i];
        } else if (norm <= -t) {
          out.fill(0, o, o + n);
        } else {
          const c = (t + norm) / 2;
          for (let i = o + 1; i < o + n; i++) out[i] = (c * v[i]) / norm;
          out[o] = c;
        }
        break;
      }
      case 'psd': {
        // smat(v) = Q diag(l) Q^T, P = Q diag(max(l, 0)) Q^T (projPsd), in svec form.
        const k = block.order;
        const { values, Q } = psdEigen(v, block);
        const D = new Float64Array(k * k);
        for (let c = 0; c < k; c++) D[c * k + c] = Math.max(values[c], 0);
        out.set(svec(conjugate(Q, D, k), k), o);
        break;
      }
    }
  }
}

/** Pi_K(v), the Euclidean projection onto K, block by block. `out` may be `v` itself (each block reads before it writes). */
export function projectCone(K: ConeSpec, v: Float64Array, out: Float64Array): void {
  checkLengths(K, 'projectCone', { v, out });
  project(K, v, out, false);
}

/**
 * Pi_{K*}(v), the projection onto the dual cone: the identity on zero-cone blocks (their dual is
 * the whole space), Pi_K on the self-dual rest. Moreau: v = Pi_K(v) - Pi_{K*}(-v), the two
 * parts orthogonal. `out` may be `v`.
 */
export function projectDualCone(K: ConeSpec, v: Float64Array, out: Float64Array): void {
  checkLengths(K, 'projectDualCone', { v, out });
  project(K, v, out, true);
}

/**
 * One Jacobian piece of one block, a symmetric linear map with spectrum in [0, 1]:
 * - zero: 0 (the zero cone's block; a second-order block in its polar cone);
 * - identity (a second-order block inside its cone);
 * - diag: a 0/1 diagonal (a nonnegative block);
 * - soc: (1/2) [[1, w^T], [w, (1 + r) I - r w w^T]], |w| = 1, r in [-1, 1] (projSocJvp's
 *   piece off both cones with r = t / |x|); spectrum {0, 1, (1 + r) / 2};
 * - psd: svec o (T -> Q (G .* (Q^T T Q)) Q^T) o smat with G symmetric in [0, 1]: self-adjoint
 *   with eigenvalues G_ij (eigenvectors svec(q_i q_j^T + q_j q_i^T)), svec being an isometry.
 */
type BlockPiece =
  | { kind: 'zero' }
  | { kind: 'identity' }
  | { kind: 'diag'; d: Float64Array }
  | { kind: 'soc'; w: Float64Array; r: number }
  | { kind: 'psd'; Q: Float64Array; G: Float64Array };

/** The unit direction of a second-order block's x, e1 when x = 0. */
function socDirection(v: Float64Array, block: ConeBlock, norm: number): Float64Array {
  const w = new Float64Array(block.size - 1);
  if (norm > 0) for (let i = 0; i < w.length; i++) w[i] = v[block.offset + 1 + i] / norm;
  else w[0] = 1;
  return w;
}

/** The selected piece of each block at v (the conventions of projections.ts). */
function selectedPieces(K: ConeSpec, v: Float64Array): BlockPiece[] {
  return K.blocks.map((block): BlockPiece => {
    const { offset: o, size: n } = block;
    switch (block.kind) {
      case 'zero':
        return { kind: 'zero' };
      case 'nonneg':
        return { kind: 'diag', d: Float64Array.from(v.subarray(o, o + n), (x) => (x > 0 ? 1 : 0)) };
      case 'soc': {
        // As projSocJvp: I strictly inside, 0 on the closed polar cone (so 0 at v = 0), else the
        // boundary piece with r = t / |x| in (-1, 1] (the cone's boundary |x| = t > 0 included).
        const { t, norm } = socParts(v, block);
        if (norm < t) return { kind: 'identity' };
        if (norm <= -t) return { kind: 'zero' };
        return { kind: 'soc', w: socDirection(v, block, norm), r: t / norm };
      }
      case 'psd': {
        const { values, Q } = psdEigen(v, block);
        return { kind: 'psd', Q, G: psdWeights(values) };
      }
    }
  });
}

/** out[block] = piece t[block]. Reads a block of t before it writes that block of out, so out may alias t. */
function applyPiece(piece: BlockPiece, block: ConeBlock, t: Float64Array, out: Float64Array): void {
  const { offset: o, size: n } = block;
  if (n === 0) return;
  switch (piece.kind) {
    case 'zero':
      out.fill(0, o, o + n);
      return;
    case 'identity':
      for (let i = o; i < o + n; i++) out[i] = t[i];
      return;
    case 'diag':
      for (let i = 0; i < n; i++) out[o + i] = piece.d[i] * t[o + i];
      return;
    case 'soc': {
      const { w, r } = piece;
      const dt = t[o];
      let wdx = 0;
      for (let i = 0; i < w.length; i++) wdx += w[i] * t[o + 1 + i];
      for (let i = 0; i < w.length; i++) out[o + 1 + i] = (w[i] * dt + (1 + r) * t[o + 1 + i] - r * w[i] * wdx) / 2;
      out[o] = (dt + wdx) / 2;
      return;
    }
    case 'psd': {
      // dP = Q (G .* (Q^T smat(t) Q)) Q^T (Daleckii-Krein), returned as svec.
      const k = block.order;
      const { Q, G } = piece;
      const T = smat(t.subarray(o, o + n), k);
      const TQ = new Float64Array(k * k);
      for (let i = 0; i < k; i++) {
        for (let c = 0; c < k; c++) {
          const x = T[i * k + c];
          if (x === 0) continue;
          for (let j = 0; j < k; j++) TQ[i * k + j] += x * Q[c * k + j];
        }
      }
      const W = new Float64Array(k * k);
      for (let i = 0; i < k; i++) {
        for (let j = i; j < k; j++) {
          let s = 0;
          for (let c = 0; c < k; c++) s += Q[c * k + i] * TQ[c * k + j];
          W[i * k + j] = G[i * k + j] * s;
          W[j * k + i] = W[i * k + j];
        }
      }
      out.set(svec(conjugate(Q, W, k), k), o);
      return;
    }
  }
}

function applyPieces(K: ConeSpec, pieces: readonly BlockPiece[], t: Float64Array, out: Float64Array): void {
  K.blocks.forEach((block, b) => applyPiece(pieces[b], block, t, out));
}

/**
 * out = J t, J the selected element of the conservative Jacobian of Pi_K at v: per block, 0 on
 * a zero cone; on a nonnegative orthant 1 for v_i > 0 and 0 for v_i <= 0; projSocJvp's piece on
 * a second-order cone (I strictly inside, 0 on the closed polar cone, the boundary piece
 * elsewhere, the cone's boundary included); the Daleckii-Krein map with psdWeights on a PSD
 * cone (f'(0) = 0). J is symmetric with spectrum in [0, 1], so this is also the VJP. `out` may be `t`.
 */
export function projectConeJvp(K: ConeSpec, v: Float64Array, t: Float64Array, out: Float64Array): void {
  checkLengths(K, 'projectConeJvp', { v, t, out });
  applyPieces(K, selectedPieces(K, v), t, out);
}

/**
 * A tie of Pi_K at v: an entry or block within tolerance of a switching surface, where the
 * conservative Jacobian is the convex hull of `pieces` alternatives (see {@link coneTies} for
 * what each choice index means). Numbers in `what` are 1-based; the fields are 0-based.
 */
export interface ConeTie {
  /** Index into K.blocks. */
  block: number;
  kind: ConeBlockKind;
  /** The row of v for nonneg (equal to `row`); the eigenvalue index (ascending) for psd; 0 for soc. */
  entry: number;
  /** The row of v where the block (soc, psd) or the entry (nonneg) is. */
  row: number;
  /** The distance to the switching surface: |v_i|, socGap's min(| |x| - t |, | |x| + t |), or |lambda_i|. */
  gap: number;
  /** How many alternative pieces a choice may index (2, or 3 for a second-order block of length >= 2 at its origin). */
  pieces: number;
  what: string;
}

const fmt = (x: number): string => `${Number(x.toPrecision(2))}`;
const rows = (block: ConeBlock): string => (block.size === 1 ? `row ${block.offset + 1}` : `rows ${block.offset + 1}-${block.offset + block.size}`);

/**
 * The ties of Pi_K at v, in block order (entries ascending within a block): entries and blocks
 * whose distance to a switching surface is <= tol, with the pieces a choice indexes:
 * - nonneg entry, |v_i| <= tol: 0 -> derivative 0, 1 -> derivative 1.
 * - soc block, length >= 2 (gap_K = | |x| - t |, gap_polar = | |x| + t |):
 *   - both <= tol (v at the origin, up to tol): 0 -> zero, 1 -> identity, 2 -> the boundary piece
 *     with r = 0 and w = x / |x| (w = e1 when x = 0), the Jacobian's limit along v = s (0, w),
 *     s -> 0+. At the origin the hull is larger (every boundary piece, any w and r in [-1, 1],
 *     is a limit there); three pieces are what a finite list of choices can name.
 *   - else gap_K <= tol (the cone's boundary, t > 0): 0 -> identity, 1 -> the boundary piece with
 *     r = 1, its limit from outside the cone;
 *   - else gap_polar <= tol (the polar cone's boundary, t < 0): 0 -> zero, 1 -> the boundary
 *     piece with r = -1, its limit from outside the polar cone.
 * - soc block of length 1 (the half-line t >= 0), |t| <= tol: 0 -> zero, 1 -> identity.
 * - psd block, one tie per eigenvalue with |lambda_i| <= tol; see {@link projectConeJvpAt}.
 * The pieces are the Jacobian's limits at the nearest point on the surface (r snapped to +-1,
 * tied eigenvalues to 0), with v's own direction w and eigenvectors.
 */
export function coneTies(K: ConeSpec, v: Float64Array, tol: number): ConeTie[] {
  checkLengths(K, 'coneTies', { v });
  const ties: ConeTie[] = [];
  K.blocks.forEach((block, b) => {
    const { offset: o, size: n } = block;
    if (n === 0) return;
    switch (block.kind) {
      case 'zero':
        return;
      case 'nonneg':
        for (let i = o; i < o + n; i++) {
          const gap = Math.abs(v[i]);
          if (gap <= tol) ties.push({ block: b, kind: 'nonneg', entry: i, row: i, gap, pieces: 2, what: `nonneg row ${i + 1}: v = ${fmt(v[i])}` });
        }
        return;
      case 'soc': {
        const { t, norm } = socParts(v, block);
        const gapK = Math.abs(norm - t);
        const gapPolar = Math.abs(norm + t);
        const gap = Math.min(gapK, gapPolar);
        if (!(gap <= tol)) return;
        const head = `soc block ${b + 1} (${rows(block)})`;
        const what =
          n === 1
            ? `${head}: at the origin, t = ${fmt(t)}`
            : gapK <= tol && gapPolar <= tol
              ? `${head}: at the origin, on both boundaries (t = ${fmt(t)}, |x| = ${fmt(norm)})`
              : gapK <= tol
                ? `${head}: on the cone's boundary (|x| - t = ${fmt(norm - t)})`
                : `${head}: on the polar cone's boundary (|x| + t = ${fmt(norm + t)})`;
        const pieces = n > 1 && gapK <= tol && gapPolar <= tol ? 3 : 2;
        ties.push({ block: b, kind: 'soc', entry: 0, row: o, gap, pieces, what });
        return;
      }
      case 'psd': {
        const k = block.order;
        const { values } = psdEigen(v, block);
        values.forEach((l, i) => {
          const gap = Math.abs(l);
          if (gap <= tol) ties.push({ block: b, kind: 'psd', entry: i, row: o, gap, pieces: 2, what: `psd block ${b + 1} (${rows(block)}): eigenvalue ${i + 1} of ${k} is ${fmt(l)}` });
        });
        return;
      }
    }
  });
  return ties;
}

/**
 * The same as {@link projectConeJvp} with an explicit piece at each listed tie (ties as
 * {@link coneTies} returns them, for this v; choice[i] in 0 .. ties[i].pieces - 1 picks the
 * piece for ties[i]); blocks and entries with no listed tie keep the selected piece.
 *
 * A soc tie's kind of surface is read from v and the tie: 3 pieces (or a block of length 1) is
 * the origin, else the cone's boundary for t >= 0 and the polar cone's for t < 0.
 *
 * PSD block with tied eigenvalues T (c_i the choice of i in T), smat(v) = Q diag(l) Q^T: the
 * weights are psdWeights of l with l_i snapped to 0 for i in T (so a tied and an untied
 * eigenvalue get 1 when the untied one is > 0, else 0), then G_ij = c_i c_j for i, j in T:
 * f'(l_i) = c_i, and a pair of tied eigenvalues gets 1 iff both chose 1. Each such piece is
 * a limit of Jacobians at nearby points (l_i -> 0+ for c_i = 1, 0- for c_i = 0, a pair that
 * differs at different rates: l_i = e^2, l_j = -e gives e / (1 + e) -> 0), symmetric with
 * entries of G in [0, 1]. A straight approach l_i = a e, l_j = -b e gives a / (a + b)
 * instead, which is no vertex, so the hull of these pieces is smaller than the Clarke
 * Jacobian when several eigenvalues tie; each piece is still in it. With several tied
 * eigenvalues the eigenvectors of the (near-)null space are the ones symmetricEigen returns.
 */
export function projectConeJvpAt(
  K: ConeSpec,
  v: Float64Array,
  ties: readonly ConeTie[],
  choice: readonly number[],
  t: Float64Array,
  out: Float64Array,
): void {
  checkLengths(K, 'projectConeJvpAt', { v, t, out });
  applyPieces(K, piecesAt(K, v, ties, choice), t, out);
}

/** The pieces of every block at v with the given choice at each tie (see projectConeJvpAt). */
function piecesAt(K: ConeSpec, v: Float64Array, ties: readonly ConeTie[], choice: readonly number[]): BlockPiece[] {
  if (choice.length !== ties.length) throw new Error(`projectConeJvpAt: ${ties.length} ties but ${choice.length} choices`);
  const pieces = selectedPieces(K, v);
  /** Per PSD block: tied eigenvalue index -> choice. */
  const psdChoices = new Map<number, Map<number, number>>();
  const seen = new Set<string>();
  ties.forEach((tie, i) => {
    const block = K.blocks[tie.block];
    const c = choice[i];
    if (!block || block.kind !== tie.kind) throw new Error(`projectConeJvpAt: tie ${i + 1} (${tie.what}) names block ${tie.block + 1}, which is ${block ? block.kind : 'not in the cone'}`);
    if (!Number.isInteger(c) || c < 0 || c >= tie.pieces) throw new Error(`projectConeJvpAt: choice ${c} for tie ${i + 1} (${tie.what}); expected 0 .. ${tie.pieces - 1}`);
    const key = `${tie.block}:${tie.entry}`;
    if (seen.has(key)) throw new Error(`projectConeJvpAt: tie ${i + 1} (${tie.what}) is listed twice`);
    seen.add(key);
    switch (tie.kind) {
      case 'zero':
        throw new Error(`projectConeJvpAt: tie ${i + 1} names a zero-cone block, which has no ties`);
      case 'nonneg': {
        const piece = pieces[tie.block];
        const at = tie.entry - block.offset;
        if (piece.kind !== 'diag' || !(at >= 0 && at < block.size)) throw new Error(`projectConeJvpAt: tie ${i + 1} (${tie.what}): row ${tie.entry + 1} is not in block ${tie.block + 1}`);
        piece.d[at] = c;
        return;
      }
      case 'soc': {
        const { t: t0, norm } = socParts(v, block);
        const origin = block.size === 1 || tie.pieces === 3;
        if (block.size === 1 && c > 1) throw new Error(`projectConeJvpAt: choice ${c} for tie ${i + 1} (${tie.what}); a soc block of length 1 has pieces 0 and 1`);
        if (origin) {
          pieces[tie.block] = c === 0 ? { kind: 'zero' } : c === 1 ? { kind: 'identity' } : { kind: 'soc', w: socDirection(v, block, norm), r: 0 };
        } else if (t0 >= 0) {
          pieces[tie.block] = c === 0 ? { kind: 'identity' } : { kind: 'soc', w: socDirection(v, block, norm), r: 1 };
        } else {
          pieces[tie.block] = c === 0 ? { kind: 'zero' } : { kind: 'soc', w: socDirection(v, block, norm), r: -1 };
        }
        return;
      }
      case 'psd': {
        if (!(Number.isInteger(tie.entry) && tie.entry >= 0 && tie.entry < block.order)) throw new Error(`projectConeJvpAt: tie ${i + 1} (${tie.what}): no eigenvalue ${tie.entry + 1} in a block of order ${block.order}`);
        const m = psdChoices.get(tie.block) ?? new Map<number, number>();
        m.set(tie.entry, c);
        psdChoices.set(tie.block, m);
        return;
      }
    }
  });
  for (const [b, tied] of psdChoices) {
    const k = K.blocks[b].order;
    const { values, Q } = psdEigen(v, K.blocks[b]);
    for (const i of tied.keys()) values[i] = 0;
    const G = psdWeights(values);
    for (const [i, ci] of tied) for (const [j, cj] of tied) G[i * k + j] = ci * cj;
    pieces[b] = { kind: 'psd', Q, G };
  }
  return pieces;
}

/**
 * The distance from v to the nearest switching surface of Pi_K: the least of |v_i| over
 * nonnegative entries, socGap's min(| |x| - t |, | |x| + t |) over second-order blocks and
 * |lambda_i| over PSD blocks' eigenvalues; Infinity when no block has a kink (zero cones only).
 */
export function coneGap(K: ConeSpec, v: Float64Array): number {
  checkLengths(K, 'coneGap', { v });
  let gap = Infinity;
  for (const block of K.blocks) {
    const { offset: o, size: n } = block;
    if (n === 0) continue;
    switch (block.kind) {
      case 'zero':
        break;
      case 'nonneg':
        for (let i = o; i < o + n; i++) gap = Math.min(gap, Math.abs(v[i]));
        break;
      case 'soc': {
        const { t, norm } = socParts(v, block);
        gap = Math.min(gap, Math.abs(norm - t), Math.abs(norm + t));
        break;
      }
      case 'psd':
        for (const l of psdEigen(v, block).values) gap = Math.min(gap, Math.abs(l));
        break;
    }
  }
  return gap;
}

/**
 * The selected Jacobian of Pi_K at v as a dense size x size row-major matrix: block diagonal,
 * each block the piece of {@link projectConeJvp} (with `at`, of {@link projectConeJvpAt}: the
 * chosen piece at each tie) applied to unit vectors, made exactly symmetric by averaging with
 * its transpose (the pieces are symmetric; this removes rounding).
 */
export function coneJacobian(K: ConeSpec, v: Float64Array, at?: { ties: readonly ConeTie[]; choice: readonly number[] }): Float64Array {
  checkLengths(K, 'coneJacobian', { v });
  const N = K.size;
  const J = new Float64Array(N * N);
  const pieces = at ? piecesAt(K, v, at.ties, at.choice) : selectedPieces(K, v);
  const e = new Float64Array(N);
  const col = new Float64Array(N);
  K.blocks.forEach((block, b) => {
    const { offset: o, size: n } = block;
    for (let j = o; j < o + n; j++) {
      e[j] = 1;
      applyPiece(pieces[b], block, e, col);
      e[j] = 0;
      for (let i = o; i < o + n; i++) J[i * N + j] = col[i];
    }
    for (let i = o; i < o + n; i++) {
      for (let j = i + 1; j < o + n; j++) {
        const s = (J[i * N + j] + J[j * N + i]) / 2;
        J[i * N + j] = s;
        J[j * N + i] = s;
      }
    }
  });
  return J;
}
