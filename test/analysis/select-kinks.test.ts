import { describe, expect, it } from 'vitest';
import { compileModel } from '../../src/compile-model.ts';
import { certifyAt } from '../../src/runtime/certificate.ts';
import { jacobian } from '../../src/runtime/derivatives.ts';
import type { ModelInstance } from '../../src/runtime/model.ts';
import { runModel } from '../../src/runtime/run.ts';
import { REGISTRY } from '../../src/primitives/registry.ts';
import { kinkGap } from '../../src/runtime/index.ts';

// The switch of `if` on the unknowns is a kink site (src/primitives/logic.ts switchWeight):
// at a tie the certificate checks the hull of both branches (MATH.md 4, 5.4), and a switch
// where the branches differ is a jump of F, never certified.

const scalar = (body: string) => `model A {\n  param x: real\n  unknown y: real\n  solve ${body} = 0\n}\n`;

async function instance(text: string, inputs: Record<string, unknown>): Promise<ModelInstance> {
  const M = await compileModel('select.impl', undefined, text);
  return new M(inputs) as unknown as ModelInstance;
}

async function run(text: string, x: number, y0?: number[]) {
  return runModel(await instance(text, { x }), { jacobian: true, ...(y0 ? { y0 } : {}) });
}

describe('if on the unknowns at its switch', () => {
  it('|y| = x written with if is violated at x = 0, exactly like max(y, -y)', async () => {
    const viaIf = await run(scalar('(if y > 0 then y else -y) - x'), 0);
    const viaMax = await run(scalar('max(y, -y) - x'), 0);
    expect(viaMax.certificate.verdict).toBe('violated');
    expect(viaIf.certificate.verdict).toBe('violated');
    expect(viaIf.certificate.ties).toBe(1);
    expect(viaIf.jacobian).toBeUndefined();
    // The other spellings of the same switch: >=, <, <=, and a negated condition.
    for (const body of ['(if y >= 0 then y else -y) - x', '(if y < 0 then -y else y) - x', '(if 0 <= y then y else -y) - x', '(if !(y > 0) then -y else y) - x']) {
      expect((await run(scalar(body), 0)).certificate.verdict, body).toBe('violated');
    }
  });

  it('a continuous switch with B in [1, 2] is certified, and only through a proof over the hull', async () => {
    const text = scalar('(if y > 0 then 2 * y else y) - x');
    const r = await run(text, 0);
    expect(r.solution.y).toBe(0);
    expect(r.certificate.ties).toBe(1);
    expect(r.certificate.verdict).toBe('certified');
    // The same tie with a hull that crosses 0 (B in [-1, 1]) is not.
    expect((await run(scalar('(if y > 0 then y else -y) - x'), 0)).certificate.verdict).not.toBe('certified');
    // And the runtime's own vertex test, asked directly, proves [1, 2] at the tie.
    const m = await instance(text, { x: 0 });
    const c = certifyAt(m, Float64Array.of(0), 0);
    expect(c.verdict).toBe('certified');
    expect(c.ties).toBe(1);
  });

  it('a switch where the branches differ (F jumps) is never certified', async () => {
    // y + 1 for y > 0, y otherwise: at x = 0 the solution y = 0 sits on the jump.
    const r = await run(scalar('(if y > 0 then y + 1 else y) - x'), 0);
    expect(r.solution.y).toBe(0);
    expect(r.certificate.verdict).toBe('unverified');
    expect(r.certificate.test).toBe('continuity');
    expect(r.certificate.detail).toMatch(/jumps/);
    // The same for >=: the jump is at the same place whichever branch the tie takes.
    const ge = await run(scalar('(if y >= 0 then y - 1 else y) - x'), -1);
    expect(ge.solution.y).toBe(0);
    expect(ge.certificate.verdict).not.toBe('certified');
  });

  it('a compound condition on the unknowns: each comparison is a switch', async () => {
    // |y| = x again, the switch behind an && with a comparison that holds: still violated.
    expect((await run(scalar('(if y > 0 && y < 10 then y else -y) - x'), 0)).certificate.verdict).toBe('violated');
    // A continuous compound switch: 2y on (0, 10), y elsewhere, jumps at 10: at x = 10, y = 10 sits on the jump.
    const r = await run(scalar('(if y > 0 && y < 10 then 2 * y else y) - x'), 10, [10]);
    expect(r.solution.y).toBeCloseTo(10, 12);
    expect(r.certificate.verdict).not.toBe('certified');
    // `==` is a switch too: at y = 0 the branches agree (0 = 0), B in [1, 3].
    expect((await run(scalar('(if y == 0 then 3 * y else y) - x'), 0)).certificate.verdict).toBe('certified');
  });

  it('a switch on a parameter at its tie, where the branches differ, is not certified', async () => {
    const r = await run(scalar('y - (if x > 0 then 1 else 0)'), 0);
    expect(r.certificate.verdict).toBe('unverified');
    expect(r.certificate.test).toBe('continuity');
    // Away from it the derivative is 0, certified.
    expect((await run(scalar('y - (if x > 0 then 1 else 0)'), 0.5)).certificate.verdict).toBe('certified');
  });
});

describe('derivatives through if away from ties equal finite differences', () => {
  const cases: [string, number][] = [
    ['y^3 + (if y > x then y * x else y - x) - 1', 0.3],
    ['y^3 + (if y > x then y * x else y - x) - 1', 1.7],
    ['(if y * x >= 1 && !(y < 0) then 2 * y + x * x else y + 3 * x) - 4', 0.8],
    ['(if y > 1 || y < -5 then 2 * y + x * x else y + 3 * x + 1) - 4', 0.5],
    ['(if y > 1 || y < -5 then 2 * y + x * x else y + 3 * x + 1) - 4', 1.5],
    ['(if y != x then exp(y) - x * y else y) - 2', 0.4],
  ];
  it.each(cases)('%s at x = %s', async (body, x0) => {
    const text = scalar(body);
    const r = await run(text, x0);
    expect(r.status).toBe('converged');
    expect(r.certificate.ties).toBe(0);
    const dydx = (r.jacobian as Record<string, Record<string, number>>).y.x;
    const h = 1e-6;
    const yAt = async (x: number) => (await run(text, x, [r.solution.y as number])).solution.y as number;
    const fd = ((await yAt(x0 + h)) - (await yAt(x0 - h))) / (2 * h);
    expect(Math.abs(dydx - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
    // The runtime jacobian agrees with the one the certificate's selection gives.
    const m = await instance(text, { x: x0 });
    expect(jacobian(m, Float64Array.of(r.solution.y as number)).data[0]).toBeCloseTo(dydx, 12);
  });
});

const t = (...xs: number[]) => ({ shape: [xs.length], data: Float64Array.from(xs) });

describe('the switch factor and its gap', () => {
  it('select_d(s, a, b) = [s > 0]; the gap lists |s|, then the jumps |a - b|', () => {
    const s = t(-1, 0, 2, 0);
    const a = t(5, 3, 1, 7);
    const b = t(5, 3, 4, 6.5);
    expect(Array.from(REGISTRY.get('select_d')!.evaluate([s, a, b], {}).data)).toEqual([0, 0, 1, 0]);
    expect(Array.from(kinkGap('select', [s, a, b]))).toEqual([1, 0, 2, 0, 0, 0, 3, 0.5]);
    // A scalar condition broadcasts with the branches.
    expect(Array.from(kinkGap('select', [{ shape: [], data: Float64Array.of(0) }, a, b]))).toEqual([0, 0, 0, 0, 0, 0, 3, 0.5]);
  });
});

describe('a condition shared by all rows', () => {
  const model = (then: string) => `model S {\n  dim n\n  param c: real[n]\n  unknown y: real[n]\n  solve (if sum(y) > 0 then ${then} else y) - c = 0\n}\n`;

  it('is one kink variable: at the tie with a jump, unverified (continuity); with agreeing branches, the hull decides', async () => {
    // -y vs y at sum(y) = 0, y = c = (1, -1): the branches differ, F jumps.
    const jump = runModel(await instance(model('-y'), { c: [1, -1] }), {});
    expect(jump.certificate.verdict).toBe('unverified');
    expect(jump.certificate.test).toBe('continuity');
    // y + sum(y) vs y: continuous (they agree where sum(y) = 0); B = I + d 1 1', det = 1 + 2d > 0.
    const cont = runModel(await instance(model('y + sum(y)'), { c: [1, -1] }), { jacobian: true });
    expect(cont.certificate.ties).toBe(1);
    expect(cont.certificate.verdict).not.toBe('violated');
    expect(cont.certificate.verdict).not.toBe('certified');
  });
});
