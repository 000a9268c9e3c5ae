/**
 * Matrix-vector products with matrices that never change, through a copy in WebAssembly
 * memory: the bound inputs of an instance (snapshots of what the caller passed) and its
 * hoisted values (W, X, step * X', computed once from them) are marked immutable when they
 * are made; from the RESIDENT_AFTER_USES-th product with such a matrix on, `K.matmul` runs it
 * with the matrix resident in its own WebAssembly instance (kernels.wat `products`), 3 to 4
 * times the speed of the JavaScript loop at 128 x 128 to 1000 x 300 on this project's machine.
 * The sums are the same, bit for bit: both pair the even and the odd terms of each row
 * (dot.ts matvecAt), so which engine ran never shows in the numbers.
 *
 * Copying a matrix in (and the fresh pages of its instance) costs several products' worth, so
 * a matrix used a few times stays in JavaScript: a fresh Lasso instance's three residuals do
 * not pay for a copy of its design; a path's, a batch's or a backward pass's repeated products
 * do. The copy lives as long as the matrix: both are reachable from the same tensors only.
 * It doubles that matrix's memory meanwhile (40 MB more for each 1000 x 5000 matrix).
 */
import type { Tensor } from './tensor.ts';
import { ResidentMatrix } from './products.ts';

/** The data arrays of tensors that are never written after they are made. */
const IMMUTABLE = new WeakSet<Float64Array>();

/**
 * Marks t's data as never changing (a bound input or a hoisted value); returns t. Only
 * matrices large enough to go resident are recorded: a weak set's entries cost the garbage
 * collector, and marking every hoisted value (scalars, per-solution vectors) took 5% of a DEQ
 * step's backward pass at h = 64, with 11% more in the collector.
 */
export function immutable(t: Tensor): Tensor {
  if (t.shape.length === 2 && t.data.length >= RESIDENT_MIN_ENTRIES) IMMUTABLE.add(t.data);
  return t;
}

/** From this many products with one matrix, it is copied into WebAssembly memory (a copy into a new instance measured 4 to 5 JavaScript products, 512 x 512 to 1000 x 5000). */
const RESIDENT_AFTER_USES = 8;

/** Below this many entries (128 x 128) the JavaScript loop stays: at 442 x 10 the copy in and out of the vectors cost what the SIMD saved (measured). */
const RESIDENT_MIN_ENTRIES = 16384;

interface Use {
  rows: number;
  cols: number;
  uses: number;
  /** The resident copy; null before it is made, false when it cannot be (no SIMD, no memory). */
  copy: ResidentMatrix | null | false;
}

const USES = new WeakMap<Float64Array, Use>();

/**
 * The resident copy of the immutable row-major m x p matrix A once it has been used often
 * enough (each call counts a use), else null: the caller's JavaScript loop should run. Its
 * products in both directions (M v, M^T u) count together and share the one copy.
 */
function residentCopy(A: Float64Array, m: number, p: number): ResidentMatrix | null {
  if (m * p < RESIDENT_MIN_ENTRIES || !IMMUTABLE.has(A)) return null;
  let use = USES.get(A);
  if (use === undefined) {
    use = { rows: m, cols: p, uses: 0, copy: null };
    USES.set(A, use);
  }
  // One array read with another shape (a vector as a row, say) stays in JavaScript.
  if (use.rows !== m || use.cols !== p) return null;
  if (use.copy === null) {
    if (++use.uses < RESIDENT_AFTER_USES) return null;
    use.copy = ResidentMatrix.create({ rows: m, cols: p, data: A }) ?? false;
  }
  return use.copy === false ? null : use.copy;
}

/**
 * out = A x for the immutable row-major m x p matrix A, with A resident in WebAssembly once it
 * has been used often enough; false (out untouched) when the caller's JavaScript loop should run.
 */
export function residentMatvec(A: Float64Array, m: number, p: number, x: Float64Array, out: Float64Array): boolean {
  const copy = residentCopy(A, m, p);
  if (copy === null) return false;
  copy.mul(x, out);
  return true;
}

/**
 * out = A^T x (x has m entries, out p) for the immutable row-major m x p matrix A, on the
 * same resident copy as {@link residentMatvec} (the uses of both count together: one matrix
 * has at most one copy, never a transposed second one); false (out untouched) when the
 * caller's JavaScript loop should run. The sums are kernels.wat `products_t`'s (four rows per
 * pass), not bit for bit those of a JavaScript loop over the rows.
 */
export function residentMatTvec(A: Float64Array, m: number, p: number, x: Float64Array, out: Float64Array): boolean {
  const copy = residentCopy(A, m, p);
  if (copy === null) return false;
  copy.mulT(x, out);
  return true;
}

/** Whether A's products now run on a resident copy (for tests and diagnostics). */
export function isResident(A: Float64Array): boolean {
  const copy = USES.get(A)?.copy;
  return copy !== undefined && copy !== null && copy !== false;
}
