/**
 * Issue 18, the runtime API: every bad call is a typed error naming what is wrong (InputError
 * E0901 for inputs, SolverError with its code for vectors and options), and every number
 * that is not finite is reported (status 'non-finite', `nonFinite`), never passed on as a
 * converged result.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  batchGradient,
  batchGradientAt,
  bicgstab,
  certifyAt,
  fixedPoint,
  gmres,
  luFactor,
  semismoothNewton,
  bindChanges,
  bindInputs,
  ImplicitDerivatives,
  InputError,
  lazy,
  nonFiniteHoisted,
  put,
  runModel,
  scalar,
  solveBatch,
  solveBatchF64,
  solveInstance,
  SolverError,
  views,
  WorkerPool,
} from '../../src/runtime/index.ts';
import type { BatchInstance, InputSpec, ModelInstance, RunResult, Tensor } from '../../src/runtime/index.ts';
import { generatedClass } from '../helpers/generated.ts';
import { KinkScalar } from './models.ts';

type Instance = BatchInstance & { solve(options?: unknown): RunResult; with(changes: unknown): Instance };
type Class = new (inputs: unknown) => Instance;

/** The error `f` throws (fails the test when it returns). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

function expectSolverError(f: () => unknown, code: string, mentions?: string): void {
  const e = thrown(f);
  expect(e).toBeInstanceOf(SolverError);
  expect((e as SolverError).code).toBe(code);
  if (mentions !== undefined) expect((e as Error).message).toContain(mentions);
}

function expectInputError(f: () => unknown, mentions?: string): void {
  const e = thrown(f);
  expect(e).toBeInstanceOf(InputError);
  expect((e as InputError).code).toBe('E0901');
  if (mentions !== undefined) expect((e as Error).message).toContain(mentions);
}

/** Paths of the numbers that are not finite in the tables of a result (independent of runModel's own scan). */
function nonFinitePaths(r: RunResult): string[] {
  const paths: string[] = [];
  const walk = (v: unknown): boolean => (Array.isArray(v) ? v.some(walk) : typeof v === 'number' && !Number.isFinite(v));
  if (!Number.isFinite(r.residual)) paths.push('residual');
  for (const [u, v] of Object.entries(r.solution)) if (walk(v)) paths.push(`solution.${u}`);
  for (const [o, v] of Object.entries(r.outputs)) if (walk(v)) paths.push(`outputs.${o}`);
  for (const [o, per] of Object.entries(r.gradients ?? {})) for (const [p, v] of Object.entries(per)) if (walk(v)) paths.push(`gradients.${o}.${p}`);
  for (const [u, per] of Object.entries(r.jacobian ?? {})) for (const [p, v] of Object.entries(per)) if (walk(v)) paths.push(`jacobian.${u}.${p}`);
  return paths;
}

/** What every result must satisfy: converged means every number finite; otherwise the paths are listed. */
function expectHonest(r: RunResult): void {
  const bad = nonFinitePaths(r);
  if (bad.length > 0) {
    expect(r.status).toBe('non-finite');
    expect(r.nonFinite).toEqual(expect.arrayContaining(bad));
    expect(r.gradients).toBeUndefined();
    expect(r.jacobian).toBeUndefined();
  }
  if (r.status === 'converged') expect(r.nonFinite).toBeUndefined();
}

const LASSO_INPUTS = { X: [[1, 0], [0, 1], [1, 1]], y: [1, 2, 3], Xv: [[1, 1]], yv: [1], lambda: 0.1 };
const PROTO_NAMES = ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf', 'isPrototypeOf', '__defineGetter__'];
/** Values that are not an object of inputs (or not an options object). */
const notAnObject = fc.oneof(fc.constant(null), fc.constant(undefined), fc.double(), fc.string(), fc.boolean(), fc.array(fc.double(), { maxLength: 3 }), fc.constant(() => 1));

let Lasso: Class;
let lasso: Instance;
beforeAll(async () => {
  Lasso = (await generatedClass('samples/lasso.impl')) as unknown as Class;
  lasso = new Lasso(LASSO_INPUTS);
});

describe('kernels check the lengths of their vectors', () => {
  it('a wrong-length y, ydot, w or xdot, or a short out, is SolverError(dimension-mismatch) naming both lengths', () => {
    const n = lasso.n;
    const y = new Float64Array(n);
    const factors = lasso.kinkFactors(y);
    const wrong = fc.integer({ min: 0, max: 12 }).filter((k) => k !== n);
    fc.assert(
      fc.property(wrong, fc.constantFrom('residual', 'map', 'outputs', 'kinkFactors', 'jvpY', 'vjpY', 'vjpX', 'out'), (k, kernel) => {
        const v = new Float64Array(k).fill(0.5);
        const out = new Float64Array(n);
        const call: Record<string, () => unknown> = {
          residual: () => lasso.residual(v, out),
          map: () => lasso.map(v, out),
          outputs: () => lasso.outputs(v),
          kinkFactors: () => lasso.kinkFactors(v),
          jvpY: () => lasso.jvpY(y, factors, v, out),
          vjpY: () => lasso.vjpY(y, factors, v, out),
          vjpX: () => lasso.vjpX(y, factors, v, new Float64Array(lasso.m)),
          out: () => lasso.residual(y, new Float64Array(Math.min(k, n - 1))),
        };
        const e = thrown(call[kernel]);
        expect(e).toBeInstanceOf(SolverError);
        expect((e as SolverError).code).toBe('dimension-mismatch');
        expect((e as Error).message).toMatch(/length \d+/);
      }),
      { numRuns: 60 },
    );
    // jvpX reads xdot (m = 1 for the Lasso).
    expectSolverError(() => lasso.jvpX(y, factors, new Float64Array(3), new Float64Array(n)), 'dimension-mismatch', 'length 3');
  });

  it('names the argument: an out too long, the factors (count, type, lengths), an output index that is not one', () => {
    const n = lasso.n;
    const y = new Float64Array(n);
    const factors = lasso.kinkFactors(y);
    expectSolverError(() => lasso.residual(y, new Float64Array(n + 1)), 'dimension-mismatch', `out: length ${n + 1}, expected a Float64Array of length ${n}`);
    expectSolverError(() => lasso.vjpX(y, factors, y, new Float64Array(lasso.m + 2)), 'dimension-mismatch', `out: length ${lasso.m + 2}`);
    expectSolverError(() => lasso.jvpY(y, [], y, new Float64Array(n)), 'dimension-mismatch', 'factors: 0 arrays, expected an array of 1 Float64Arrays');
    expectSolverError(() => lasso.jvpY(y, null as unknown as Float64Array[], y, new Float64Array(n)), 'dimension-mismatch', 'factors: null');
    expectSolverError(() => lasso.jvpY(y, [new Float64Array(n + 3)], y, new Float64Array(n)), 'dimension-mismatch', `factors[0]: length ${n + 3}`);
    expectSolverError(() => lasso.jvpY(y, [[1, 2]] as unknown as Float64Array[], y, new Float64Array(n)), 'dimension-mismatch', 'factors[0]: not a Float64Array (an array)');
    for (const k of [1, -1, 0.5, NaN]) expectSolverError(() => lasso.outputPartials(k, y, factors), 'invalid-option', `no output ${k} of model Lasso: its outputs are 0 to 0`);
    expectSolverError(() => lasso.outputPartials('0' as unknown as number, y, factors), 'invalid-option', 'no output string');
  });

  it('views and put name the argument and both lengths; a non-Float64Array is refused', () => {
    const L = [{ name: 'a', shape: [2], size: 2, offset: 0 }, { name: 'b', shape: [3], size: 3, offset: 2 }];
    expect(views(new Float64Array(5), L).map((t) => t.data.length)).toEqual([2, 3]);
    expectSolverError(() => views(new Float64Array(4), L), 'dimension-mismatch', 'a, b: length 4, expected a Float64Array of length 5');
    expectSolverError(() => views(new Float64Array(6), L, 'ydot'), 'dimension-mismatch', 'ydot: length 6');
    expectSolverError(() => views([1, 2, 3, 4, 5] as unknown as Float64Array, L), 'dimension-mismatch', 'not a Float64Array');
    expectSolverError(() => put(scalar(1), new Float64Array(2), 1, 2), 'dimension-mismatch', 'up to 3');
  });
});

describe('inputs: typed errors for every bad call', () => {
  it('new M(v) and instance.with(v) with v not an object of inputs: InputError naming the model', () => {
    fc.assert(
      fc.property(notAnObject, (v) => {
        expectInputError(() => new Lasso(v), 'model Lasso');
        expectInputError(() => lasso.with(v), '`with`');
      }),
      { numRuns: 40 },
    );
  });

  it('an unknown or prototype-named key is an unknown input, named; valid inputs beside it are not rejected for it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PROTO_NAMES, 'unknownName'), fc.boolean(), (name, viaWith) => {
        // JSON.parse gives an own `__proto__` key, as a parsed input file does.
        const extra = JSON.parse(`{${JSON.stringify(name)}: 1}`) as Record<string, unknown>;
        if (viaWith) expectInputError(() => lasso.with(extra), `\`${name}\` is not an input of model Lasso`);
        else expectInputError(() => new Lasso({ ...LASSO_INPUTS, ...extra }), `\`${name}\` is not an input of model Lasso`);
      }),
      { numRuns: 30 },
    );
  });

  it('inputs and dims named like Object.prototype members bind (own-property tables)', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(PROTO_NAMES, { minLength: 2, maxLength: 2 }), fc.integer({ min: 1, max: 4 }), ([input, dim], size) => {
        const spec: InputSpec = { model: 'P', dims: [dim], inputs: [{ name: input, role: 'param', dims: [dim] }] };
        const values = JSON.parse(`{${JSON.stringify(input)}: ${JSON.stringify(new Array(size).fill(1))}}`) as Record<string, unknown>;
        const bound = bindInputs(spec, values);
        expect(Object.hasOwn(bound.dims, dim) && bound.dims[dim]).toBe(size);
        expect(Object.hasOwn(bound.tensors, input) && bound.tensors[input].data.length).toBe(size);
        // A missing input whose name is an Object.prototype member is missing, not found on the prototype.
        expectInputError(() => bindInputs(spec, {}), `missing input \`${input}\``);
        const changed = bindChanges(spec, values, bound.dims);
        expect(changed.tensors[input].data.length).toBe(size);
        expect(Object.hasOwn(changed.tensors, 'toString') && input !== 'toString').toBe(false);
      }),
      { numRuns: 30 },
    );
  });

  it('arrays nested 10^5 deep: an InputError naming the input, no stack overflow', () => {
    let deep: unknown = [1];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expectInputError(() => new Lasso({ ...LASSO_INPUTS, y: deep }), '`y` has arrays nested 2 or more deep');
    expectInputError(() => new Lasso({ ...LASSO_INPUTS, X: deep }), '`X`');
    expectInputError(() => new Lasso({ ...LASSO_INPUTS, lambda: deep }), '`lambda`');
    // Deep inside a row, an entry: named by its place.
    expectInputError(() => new Lasso({ ...LASSO_INPUTS, X: [[1, deep], [0, 1], [1, 1]] }), '`X`[0][1] is an array');
  });

  it('non-finite input values are InputErrors naming the entry', () => {
    fc.assert(
      fc.property(fc.constantFrom(NaN, Infinity, -Infinity), fc.integer({ min: 0, max: 2 }), (bad, i) => {
        const y = [1, 2, 3];
        y[i] = bad;
        expectInputError(() => new Lasso({ ...LASSO_INPUTS, y }), `\`y\`[${i}] is ${bad}`);
      }),
      { numRuns: 15 },
    );
  });
});

describe('options: SolverError(invalid-option) naming the option and the value', () => {
  const badValues: Record<string, unknown[]> = {
    method: ['bogus', '', 5, null, 'Newton'],
    tol: [-1, NaN, Infinity, '1e-8', null],
    maxIter: [1.5, 0, -3, NaN, '10', Infinity],
    denseLimit: [NaN, -1, 2.5, 'big', null],
    jacobian: ['yes', 1, null],
    y0: ['zeros', null, new Float32Array(2)],
    typo: [1],
  };
  const cases = Object.entries(badValues).flatMap(([key, values]) => values.map((value) => ({ key, value })));

  it('instance.solve / runModel', () => {
    fc.assert(
      fc.property(fc.constantFrom(...cases), ({ key, value }) => {
        expectSolverError(() => lasso.solve({ [key]: value }), 'invalid-option', key);
      }),
      { numRuns: 80 },
    );
    // A start of the wrong length or with entries that are not finite: the codes every
    // runtime entry point uses for vectors (requireFiniteVector).
    expectSolverError(() => lasso.solve({ y0: new Float64Array(3) }), 'dimension-mismatch', 'y0');
    expectSolverError(() => lasso.solve({ y0: Float64Array.of(NaN, 0) }), 'non-finite-input', 'y0');
    expectSolverError(() => lasso.solve({ y0: [0, Infinity] }), 'non-finite-input', 'y0');
    fc.assert(
      fc.property(notAnObject.filter((v) => v !== undefined), (v) => {
        expectSolverError(() => lasso.solve(v), 'invalid-option', 'options must be an object');
      }),
      { numRuns: 20 },
    );
  });

  it('solveInstance, solveBatch, solveBatchF64, ImplicitDerivatives', () => {
    const model = new KinkScalar(1);
    expectSolverError(() => solveInstance(model, { method: 'bogus' as never }), 'invalid-option', '"bogus"');
    expectSolverError(() => solveInstance(model, { maxIter: 0 }), 'invalid-option', 'maxIter');
    expectSolverError(() => solveInstance(model, { y0: new Float64Array(2) }), 'dimension-mismatch', 'length 2, expected 1');
    expectSolverError(() => solveInstance(model, null as never), 'invalid-option', 'options');
    expectSolverError(() => solveInstance(null as never), 'invalid-option', 'model instance');
    expectSolverError(() => runModel(5 as never), 'invalid-option', 'model instance');
    expectSolverError(() => solveBatch([lasso], { tol: NaN }), 'invalid-option', 'tol');
    expectSolverError(() => solveBatch('x' as never), 'invalid-option', 'instances');
    expectSolverError(() => solveBatchF64([lasso], { maxIter: 1.5 }), 'invalid-option', 'maxIter');
    expectSolverError(() => solveBatchF64([lasso], { finish: 'later' as never }), 'invalid-option', 'finish');
    expectSolverError(() => solveBatchF64([null as never]), 'invalid-option', 'instance 0');
    const y = solveInstance(model).y;
    expectSolverError(() => new ImplicitDerivatives(model, y, { denseLimit: NaN }), 'invalid-option', 'denseLimit');
    expectSolverError(() => new ImplicitDerivatives(model, new Float64Array(3)), 'dimension-mismatch', 'length 3');
    expectSolverError(() => new ImplicitDerivatives(model, y).vjp(new Float64Array(2)), 'dimension-mismatch');
    expectSolverError(() => new ImplicitDerivatives(model, y).jvp(Float64Array.of(NaN)), 'non-finite-input');
  });

  it('the solvers and the certificate: options, operators and models that are not what they must be', () => {
    const id = (v: Float64Array, out: Float64Array): void => out.set(v);
    const b = Float64Array.of(1, 2);
    fc.assert(
      fc.property(notAnObject.filter((v) => v !== undefined), (v) => {
        expectSolverError(() => fixedPoint(id, b, v as never), 'invalid-option', 'fixedPoint');
        expectSolverError(() => gmres(id, b, v as never), 'invalid-option', 'gmres');
        expectSolverError(() => bicgstab(id, b, v as never), 'invalid-option', 'bicgstab');
        expectSolverError(() => semismoothNewton({ residual: id, jacobian: () => ({ rows: 2, cols: 2, data: Float64Array.of(1, 0, 0, 1) }) }, b, v as never), 'invalid-option', 'semismoothNewton');
      }),
      { numRuns: 15 },
    );
    expectSolverError(() => fixedPoint(null as never, b), 'invalid-option', 'map');
    expectSolverError(() => fixedPoint(id, b, { norm: 'l1' as never }), 'invalid-option', 'norm');
    expectSolverError(() => gmres(5 as never, b), 'invalid-option', 'operator');
    expectSolverError(() => semismoothNewton(null as never, b), 'invalid-option', 'problem');
    expectSolverError(() => luFactor(null as never), 'dimension-mismatch', 'luFactor');
    expectSolverError(() => certifyAt(null as never, b, 0), 'invalid-option', 'model instance');
    expectSolverError(() => certifyAt(new KinkScalar(1), b, 0), 'dimension-mismatch', 'length 2');
  });

  it('batchGradient, batchGradientAt, WorkerPool (checked before any worker starts)', async () => {
    const make = (inputs: Record<string, unknown>) => new Lasso(inputs) as never;
    const { lambda: _lambda, ...shared } = LASSO_INPUTS;
    expectSolverError(() => batchGradient(make, shared, [{ lambda: 0.1 }], { method: 'bogus' as never }), 'invalid-option', 'method');
    expectSolverError(() => batchGradient(make, shared, [{ lambda: 0.1 }], { tol: -1 }), 'invalid-option', 'tol');
    expectSolverError(() => batchGradient(make, shared, 'samples' as never), 'invalid-option', 'samples');
    expectSolverError(() => batchGradient(make, shared, [null as never]), 'invalid-option', 'sample 0');
    expectSolverError(() => batchGradient(make, shared, [{ lambda: 0.1 }], 7 as never), 'invalid-option', 'options');
    expectSolverError(() => batchGradientAt([lasso], [{ y: new Float64Array(5), status: 'converged', residual: 0 }]), 'dimension-mismatch', 'length 5');
    expectSolverError(() => batchGradientAt([lasso], null as never), 'invalid-option', 'solved');
    expectSolverError(() => new WorkerPool(null as never), 'invalid-option', 'WorkerPool');
    expectSolverError(() => new WorkerPool(Lasso as never, 0), 'invalid-option', 'threads');
  });
});

describe('numbers that are not finite: a typed outcome, never a converged result carrying them', () => {
  it('Lasso inputs up to 1e308: converged results are all finite; otherwise status non-finite lists the paths', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 1e150, 1e300, 1e308),
        fc.constantFrom(1, 1e308),
        fc.double({ min: 0, max: 2, noNaN: true }),
        (xvScale, yvScale, lambda) => {
          const r = lasso.with({ Xv: [[xvScale, xvScale]], yv: [yvScale], lambda }).solve({ jacobian: true });
          expectHonest(r);
          // Numbers stay JS numbers (the CLI writes non-finite ones as strings): a converged result has no null in JSON.
          if (r.status === 'converged') expect(JSON.stringify(r)).not.toContain('null');
          if (!Number.isFinite(r.outputs.val)) expect(r.nonFinite).toContain('outputs.val');
        },
      ),
      { numRuns: 25 },
    );
  });

  it('an output that overflows at a finite solution: status non-finite, nonFinite names it, no derivatives', () => {
    const r = lasso.with({ Xv: [[1e308, 1e308]], yv: [-1e308] }).solve({ jacobian: true });
    expect(r.status).toBe('non-finite');
    expect(r.nonFinite).toEqual(['outputs.val']);
    expect(r.outputs.val).toBe(Infinity);
    expect(r.gradients).toBeUndefined();
    expect(r.jacobian).toBeUndefined();
    expect(r.certificate.detail).toContain('outputs.val not finite');
  });

  it('an all-zero X (step = 1 / opnorm(X)^2 = Infinity): an InputError naming the let `step` and its place', () => {
    expectInputError(() => new Lasso({ ...LASSO_INPUTS, X: [[0, 0], [0, 0], [0, 0]] }).solve(), "`step` (let at 10:14) is not finite for these inputs: it is Infinity");
  });

  it('an infinite value in a branch that is not taken is no input error: the solve is finite and converges', async () => {
    const IfB = (await generatedClass('ifb.impl', 'IfB', 'model IfB {\n  param x: real\n  let r = 1 / x\n  unknown y: real\n  solve y - (if x > 0 then r else 0) - 1 = 0\n}\n')) as unknown as Class;
    const r = new IfB({ x: 0 }).solve();
    expect(r.status).toBe('converged');
    expect(r.solution.y).toBe(1);
  });

  it('lazy: a labelled hoisted value that is not finite is reported by nonFiniteHoisted once computed, never thrown', () => {
    const c: Record<string, Tensor> = Object.create(null);
    lazy(c, 'step', () => scalar(Infinity), '`step` (let at 10:3)');
    lazy(c, 't9', () => ({ shape: [2, 2], data: Float64Array.of(1, 2, NaN, 4) }), '');
    lazy(c, 't17', () => scalar(NaN));
    lazy(c, 'ok', () => scalar(2), '`ok`');
    // Nothing computed yet: nothing to report, and nothing computed by asking.
    expect(nonFiniteHoisted(c)).toEqual([]);
    expect(c.step.data[0]).toBe(Infinity);
    expect(c.t9.data[2]).toBeNaN();
    expect(c.ok.data[0]).toBe(2);
    // Values that move with y pass no label: their non-finite values are the solvers' business.
    expect(c.t17.data[0]).toBeNaN();
    expect(nonFiniteHoisted(c)).toEqual([
      '`step` (let at 10:3) is not finite for these inputs: it is Infinity',
      '`t9` is not finite for these inputs: entry [1, 0] is NaN',
    ]);
  });

  describe('v / norm2(v) and friends', () => {
    let Normalized: Class;
    let SqrtKink: Class;
    let NormOut: Class;
    beforeAll(async () => {
      Normalized = (await generatedClass('vnorm.impl', 'M', 'model M {\n  param x: real[2]\n  unknown v: real[2] = 0\n  solve v - 0.5 * v / norm2(v) - x = 0\n}\n')) as unknown as Class;
      SqrtKink = (await generatedClass('sqrt.impl', 'S', 'model S {\n  param x: real[2]\n  unknown v: real[2] = 0\n  output o = sum(v)\n  solve v + sqrt(v .* v) - x = 0\n}\n')) as unknown as Class;
      NormOut = (await generatedClass('normout.impl', 'N', 'model N {\n  param x: real[2]\n  unknown v: real[2] = 0\n  fixpoint v = 0.5 * x\n  output o = sum(v / norm2(v))\n}\n')) as unknown as Class;
    });

    it('v / norm2(v) from v = 0, every method: a typed outcome (non-finite residual), never a throw', () => {
      fc.assert(
        fc.property(fc.tuple(fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true })), fc.constantFrom('auto', 'newton'), (x, method) => {
          const r = new Normalized({ x }).solve({ method, jacobian: true });
          expectHonest(r);
          expect(r.status).toBe('non-finite');
          expect(r.nonFinite).toContain('residual');
        }),
        { numRuns: 20 },
      );
      // A start away from 0 converges, honestly.
      const r = new Normalized({ x: [1, 0] }).solve({ y0: [1, 1], jacobian: true });
      expectHonest(r);
      expect(r.status).toBe('converged');
    });

    it('B not finite at the solution (sqrt at 0): no luFactor crash; derivatives unavailable, typed', () => {
      const r = new SqrtKink({ x: [0, 0] }).solve({ jacobian: true });
      expect(r.certificate.verdict).toBe('unverified');
      expect(r.certificate.detail).toContain('not finite');
      expect(r.derivatives).toEqual({ status: 'unavailable', reason: 'non-finite', detail: expect.any(String) });
      expect(r.status).toBe('non-finite');
      expect(r.nonFinite).toEqual(['jacobian', 'gradients']);
      expect(r.jacobian).toBeUndefined();
      expect(r.gradients).toBeUndefined();
      expect(Object.keys(r).slice(0, 3)).toEqual(['model', 'status', 'nonFinite']);
    });

    it('an output that is NaN at the solution (v / norm2(v) at v = 0) is named', () => {
      const r = new NormOut({ x: [0, 0] }).solve();
      expect(r.status).toBe('non-finite');
      expect(r.nonFinite).toEqual(['outputs.o']);
      expect(r.gradients).toBeUndefined();
      const fine = new NormOut({ x: [1, 0] }).solve();
      expect(fine.status).toBe('converged');
      expect(fine.gradients?.o.x).toBeDefined();
    });
  });
});

describe('result tables keyed by declared names', () => {
  /** KinkScalar with its unknown, param and output renamed `__proto__`. */
  function protoModel(): ModelInstance {
    const model = new KinkScalar(1) as unknown as { unknowns: unknown; params: unknown; outputNames: unknown };
    model.unknowns = [{ name: '__proto__', shape: [], size: 1, offset: 0 }];
    model.params = [{ name: '__proto__', shape: [], size: 1, offset: 0 }];
    model.outputNames = ['__proto__'];
    return model as unknown as ModelInstance;
  }

  it('a name `__proto__` is an ordinary key of solution, outputs, jacobian and gradients, and survives JSON', () => {
    const r = runModel(protoModel(), { jacobian: true });
    expect(r.status).toBe('converged');
    const back = JSON.parse(JSON.stringify(r)) as Record<string, Record<string, unknown>>;
    for (const key of ['solution', 'outputs', 'jacobian', 'gradients']) expect(Object.keys(back[key])).toEqual(['__proto__']);
    expect(Object.hasOwn(r.solution, '__proto__')).toBe(true);
    expect(Object.hasOwn(r.gradients!.__proto__, '__proto__')).toBe(true);
  });

  it('a requested jacobian is never dropped silently: a failure of the backward solve is in `derivatives`', () => {
    // KinkScalar at x = 0: y = 0, a tie where the certificate holds, and B = 1 - 0.5 sign(0) = 1.
    const ok = runModel(new KinkScalar(1), { jacobian: true });
    expect(ok.jacobian).toBeDefined();
    expect(ok.derivatives).toBeUndefined();
    // vjpX that returns NaN: the gradient cannot be computed, and the result says so.
    const broken = new KinkScalar(1);
    broken.vjpX = (_y, _f, _w, out) => out.fill(NaN);
    broken.jvpX = (_y, _f, _x, out) => out.fill(NaN);
    const r = runModel(broken, { jacobian: true });
    expect(r.jacobian).toBeUndefined();
    expect(r.gradients).toBeUndefined();
    expect(r.derivatives?.status).toBe('unavailable');
    expect(r.derivatives?.reason).toBe('non-finite');
    expect(r.status).toBe('non-finite');
    expect(r.nonFinite).toContain('jacobian');
  });
});
