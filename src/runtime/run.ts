/**
 * Solve, certify, differentiate: the object `implc solve` prints (LANGUAGE.md
 * "Command line"). Derivatives are attached only to a converged solution whose
 * certificate is not `violated` (MATH.md 5: a backward pass on a violated
 * solution must not silently return numbers).
 */
import { certifySelection } from './certificate.ts';
import type { CertifyOptions, RuntimeCertificate } from './certificate.ts';
import { ImplicitDerivatives } from './derivatives.ts';
import type { DerivativeOptions } from './derivatives.ts';
import type { ModelInstance } from './model.ts';
import { solveInstance } from './solve.ts';
import type { InstanceStatus, SolveMethod, UsedMethod } from './solve.ts';
import { SolverError } from './status.ts';

/** A scalar, or arrays nested per dimension (matrices as arrays of rows). */
export type Nested = number | Nested[];

export interface RunOptions {
  method?: SolveMethod;
  tol?: number;
  maxIter?: number;
  /** Attach the full dy/dx (`jacobian.U.P`). */
  jacobian?: boolean;
  y0?: Float64Array;
  /** Dense limit of certificate and derivatives (default 2000). */
  denseLimit?: number;
}

export interface RunResult {
  model: string;
  status: InstanceStatus;
  iterations: number;
  residual: number;
  method: UsedMethod;
  solution: Record<string, Nested>;
  outputs: Record<string, number>;
  certificate: RuntimeCertificate;
  /** jacobian[U][P]: the shape of U followed by the shape of P. */
  jacobian?: Record<string, Record<string, Nested>>;
  /** gradients[O][P]: the shape of P. */
  gradients?: Record<string, Record<string, Nested>>;
}

/** Row-major flat data to nested arrays of the given shape ([] gives the scalar data[0]). */
export function unflatten(data: ArrayLike<number>, shape: readonly number[]): Nested {
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) {
    throw new SolverError('dimension-mismatch', `unflatten: ${data.length} values for shape [${shape.join(', ')}]`);
  }
  const build = (offset: number, dim: number): Nested => {
    if (dim === shape.length) return data[offset];
    const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: shape[dim] }, (_, i) => build(offset + i * stride, dim + 1));
  };
  return build(0, 0);
}

export function runModel(model: ModelInstance, options: RunOptions = {}): RunResult {
  const solved = solveInstance(model, { method: options.method, tol: options.tol, maxIter: options.maxIter, y0: options.y0 });
  const { y } = solved;
  const solution: Record<string, Nested> = {};
  for (const u of model.unknowns) solution[u.name] = unflatten(y.subarray(u.offset, u.offset + u.size), u.shape);
  const values = model.outputs(y);
  const outputs: Record<string, number> = {};
  model.outputNames.forEach((name, k) => {
    outputs[name] = values[k];
  });

  const certifyOptions: CertifyOptions = { denseLimit: options.denseLimit };
  const certified = solved.status === 'converged' ? certifySelection(model, y, solved.residual, certifyOptions) : null;
  let certificate: RuntimeCertificate =
    certified
      ? certified.certificate
      : {
          verdict: 'unverified',
          test: 'none',
          ties: 0,
          detail: `the solve did not converge (${solved.status}, residual ${solved.residual.toExponential(3)}): there is no solution to certify`,
          condition: null,
          errorBound: null,
        };

  const result: RunResult = {
    model: model.name,
    status: solved.status,
    iterations: solved.iterations,
    residual: solved.residual,
    method: solved.method,
    solution,
    outputs,
    certificate,
  };
  if (solved.status !== 'converged' || certificate.verdict === 'violated') return result;

  // The certificate's factorization of the selected B serves every derivative solve.
  const derivativeOptions: DerivativeOptions = { denseLimit: options.denseLimit, prefactored: certified?.selected ?? undefined };
  try {
    const d = new ImplicitDerivatives(model, y, derivativeOptions);
    if (options.jacobian) result.jacobian = jacobianBlocks(model, d);
    const grads = d.outputGradients();
    const gradients: Record<string, Record<string, Nested>> = {};
    model.outputNames.forEach((name, k) => {
      const perParam: Record<string, Nested> = {};
      for (const p of model.params) perParam[p.name] = unflatten(grads[k].subarray(p.offset, p.offset + p.size), p.shape);
      gradients[name] = perParam;
    });
    result.gradients = gradients;
  } catch (err) {
    if (!(err instanceof SolverError)) throw err;
    // A numerical failure of the backward solves: no numbers rather than wrong ones.
    delete result.jacobian;
    certificate = { ...certificate, detail: `${certificate.detail}; derivatives unavailable: ${err.message}` };
    result.certificate = certificate;
  }
  return result;
}

function jacobianBlocks(model: ModelInstance, d: ImplicitDerivatives): Record<string, Record<string, Nested>> {
  const J = d.jacobian();
  const m = model.m;
  const out: Record<string, Record<string, Nested>> = {};
  for (const u of model.unknowns) {
    const perParam: Record<string, Nested> = {};
    for (const p of model.params) {
      const block = new Float64Array(u.size * p.size);
      for (let a = 0; a < u.size; a++) {
        for (let b = 0; b < p.size; b++) block[a * p.size + b] = J.data[(u.offset + a) * m + p.offset + b];
      }
      perParam[p.name] = unflatten(block, [...u.shape, ...p.shape]);
    }
    out[u.name] = perParam;
  }
  return out;
}
