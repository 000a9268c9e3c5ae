// Names and paths in generated modules: any name the grammar accepts, in any declaration
// slot, gives a module that loads and computes the right numbers under exactly the declared
// names (generated names carry a `$`, which no .impl name can contain); a model name that
// cannot name a class is E0109; no path or name reaches the module's text as code.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../src/compile-model.ts';
import { commentText, literal } from '../../codegen/names.ts';
import { emitModule } from '../../codegen/emit-module.ts';
import { analyzeFile } from '../../src/pipeline.ts';
import { SolverError } from '../../src/runtime/index.ts';

/** The grammar's keywords: not identifiers. */
const KEYWORDS = new Set(['model', 'dim', 'data', 'param', 'let', 'unknown', 'fixpoint', 'solve', 'output', 'require', 'real', 'if', 'then', 'else']);

/** Reserved words of strict module code (ECMAScript), written out here independently of src/check/js-names.ts. */
const JS_RESERVED = [
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'enum', 'export', 'extends',
  'false', 'finally', 'for', 'function', 'import', 'in', 'instanceof', 'new', 'null', 'return', 'super', 'switch', 'this',
  'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with', 'implements', 'interface', 'package', 'private',
  'protected', 'public', 'static', 'yield', 'await', 'eval', 'arguments',
];
/** Not JavaScript identifier characters, though Ohm's `letter` accepts them. */
const NOT_JS = ['\u2E2F', 'a\u2E2F', '_\u2E2Fb'];

/** Names that meet something in a module unless generated names are kept apart by construction. */
const TRICKY = [
  // the runtime's imports
  'K', 'put', 'lazy', 'views', 'layout', 'scalar', 'runModel', 'bindInputs', 'bindChanges', 'addInto', 'addProduct', 'kinkGap',
  'sameVector', 'totalSize', 'assembleStructured', 'SolverError', 'Tensor', 'InputSpec', 'BatchInstance', 'scaledTranspose',
  // globals
  'Float64Array', 'Math', 'Object', 'Array', 'Error', 'RangeError', 'JSON', 'undefined', 'NaN', 'Infinity', 'globalThis', 'Symbol',
  // Object.prototype
  'constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString',
  // what the generator invents or binds, and the class's own members
  'num_2', 'num_0_5', 'num_3', 't1', 't9', 't17', 'u_y', 'u_beta', 'beta', 'dot_y', 'bar_0', 'F0', 'c', 'd', 'f', 'pv', 'y', 'w',
  'out', 'base', 'inputs', 'bound', 'fresh', 'values', 'hit', 'yc', 'spec', 'name', 'n', 'm', 'dims', 'value', 'solve', 'unknowns',
  'params', 'blocks', 'analysis', 'gpu', 'c_X', 'c_Q_t9', 'Q', 'Q_', 'Model', 'Inputs', 'MInputs', '_', '__',
  // Unicode letters
  '\u00E9', '\u03BB', '\u03B2', '\u03A9', '\u540D\u524D',
  ...JS_RESERVED,
  ...NOT_JS,
];

/** An identifier of the grammar: a tricky name, or a random one from its alphabet. */
const identifier = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...TRICKY) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('a', 'Z', '_', '\u00E9', '\u03BB', '\u2E2F'), fc.string({ unit: fc.constantFrom('a', 'b', '_', '0', '9', '\u03B2', '\u2E2F'), maxLength: 5 }))
      .map(([h, t]) => h + t),
  },
).filter((s) => !KEYWORDS.has(s));

const rejectedModelName = (name: string) => JS_RESERVED.includes(name) || [...name].includes('\u2E2F');

/** The names of one model's declarations, all distinct. */
interface Slots {
  M: string;
  n: string;
  D: string;
  P: string;
  L: string;
  Y: string;
  Z: string;
  O: string;
}

const slots = fc.uniqueArray(identifier, { minLength: 8, maxLength: 8 }).map(([M, n, D, P, L, Y, Z, O]): Slots => ({ M, n, D, P, L, Y, Z, O }));

/** Y = 0.5 Y + L D with L = 2 P: Y = 4 P D; Z = 0.25 Z + Y: Z = 16/3 P D; O = 3 sum(Y) = 12 P sum(D). */
const source = (s: Slots) => `model ${s.M} {
  dim ${s.n}
  data ${s.D}: real[${s.n}]
  param ${s.P}: real
  let ${s.L} = 2 * ${s.P}
  unknown ${s.Y}: real[${s.n}]
  unknown ${s.Z}: real[${s.n}]
  fixpoint ${s.Y} = 0.5 * ${s.Y} + ${s.L} * ${s.D}
  fixpoint ${s.Z} = 0.25 * ${s.Z} + ${s.Y}
  output ${s.O} = 3 * sum(${s.Y})
}
`;

/** Own enumerable keys (JSON's view of an object). */
const keys = (o: object) => Object.keys(o);
const closeTo = (actual: unknown, expected: number[]) => {
  expect(Array.isArray(actual)).toBe(true);
  (actual as number[]).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 9));
};

let fileCounter = 0;

describe('names in every declaration slot', () => {
  it('build modules that load and solve under exactly the declared names', async () => {
    await fc.assert(
      fc.asyncProperty(slots.filter((s) => !rejectedModelName(s.M)), async (s) => {
        const D = [1, -2, 0.5];
        const P = 10;
        const text = source(s);
        const Model = await compileModel(`names-${fileCounter++}.impl`, undefined, text);
        expect(Model.name).toBe(s.M);
        const inst = new Model(Object.fromEntries([[s.D, D], [s.P, P]]));
        const r = inst.solve({ jacobian: true }) as {
          model: string;
          status: string;
          solution: Record<string, unknown>;
          outputs: Record<string, number>;
          jacobian: Record<string, Record<string, unknown>>;
          gradients: Record<string, Record<string, unknown>>;
        };
        expect(r.model).toBe(s.M);
        expect(r.status).toBe('converged');
        expect(keys(r.solution)).toEqual([s.Y, s.Z]);
        closeTo(r.solution[s.Y], D.map((x) => 4 * P * x));
        closeTo(r.solution[s.Z], D.map((x) => (16 / 3) * P * x));
        expect(keys(r.outputs)).toEqual([s.O]);
        expect(r.outputs[s.O]).toBeCloseTo(12 * P * -0.5, 9);
        expect(keys(r.gradients)).toEqual([s.O]);
        expect(keys(r.gradients[s.O])).toEqual([s.P]);
        expect(r.gradients[s.O][s.P]).toBeCloseTo(12 * -0.5, 9);
        expect(keys(r.jacobian)).toEqual([s.Y, s.Z]);
        expect(keys(r.jacobian[s.Y])).toEqual([s.P]);
        closeTo(r.jacobian[s.Y][s.P], D.map((x) => 4 * x));
        // `with` replaces the param whatever its name, and shares the data.
        const again = inst.with(Object.fromEntries([[s.P, 2]])).solve({}) as { solution: Record<string, unknown> };
        closeTo(again.solution[s.Y], D.map((x) => 8 * x));
        // value(): the declared values by name, nothing else (no prototype behind it).
        const value = (inst as unknown as { value(name: string): { data: Float64Array } }).value.bind(inst);
        expect(Array.from(value(s.D).data)).toEqual(D);
        expect(Array.from(value(s.L).data)).toEqual([2 * P]);
        expect(Array.from(value(s.n).data)).toEqual([3]);
        for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', s.Y, s.O].filter((x) => ![s.D, s.P, s.L, s.n].includes(x))) {
          expect(() => value(name)).toThrow(SolverError);
        }
      }),
      { numRuns: 40 },
    );
  }, 60_000);

  it('reject exactly the model names that cannot name a class, with E0109 at the name', () => {
    fc.assert(
      fc.property(slots, (s) => {
        const text = source(s);
        const r = analyzeFile('m.impl', text);
        const e0109 = r.diagnostics.filter((d) => d.code === 'E0109');
        expect(r.diagnostics.filter((d) => d.severity === 'error' && d.code !== 'E0109')).toEqual([]);
        if (rejectedModelName(s.M)) {
          expect(e0109).toHaveLength(1);
          const at = text.indexOf(`model ${s.M}`) + 'model '.length;
          expect(e0109[0].span.start.offset).toBe(at);
          expect(e0109[0].span.end.offset).toBe(at + s.M.length);
          expect(e0109[0].message).toContain(`\`${s.M}\``);
          expect(e0109[0].help).toBeTruthy();
          expect(r.analyses).toEqual([]);
        } else {
          expect(e0109).toEqual([]);
          const [m] = r.analyses.map((a) => emitModule(a, 'm.impl'));
          expect(m.model).toBe(s.M);
          expect(m.fileName).toBe(`${s.M}.ts`);
          expect(m.text).toContain(`as ${s.M} }`);
        }
      }),
      { numRuns: 60 },
    );
  });
});

/** Fragments of hostile paths: line breaks of every kind, comment ends, quotes, template holes. */
const MARK = '__implcInjected';
const FRAGMENTS = [
  '/tmp/a', 'dir', '.impl', ' ', '\n', '\r', '\r\n', '\u2028', '\u2029', '*/', '/*', '//', '"', "'", '`', '\\', '${', '}',
  `globalThis.${MARK} = 1;`, `\nglobalThis.${MARK} = 1;//`, `*/ globalThis.${MARK} = 1; /*`, `\u2028globalThis.${MARK} = 1;`,
  `\r globalThis.${MARK} = 1;`, `\${globalThis.${MARK} = 1}`, `"; globalThis.${MARK} = 1; "`,
];

describe('paths in generated modules', () => {
  it('never run as code, and the module still loads and solves', async () => {
    const text = 'model M {\n  param num_2: real\n  unknown y: real\n  fixpoint y = 0.5 * y + 2 * num_2\n}\n';
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 8 }), async (parts) => {
        const path = parts.join('');
        delete (globalThis as Record<string, unknown>)[MARK];
        const Model = await compileModel(path, undefined, text);
        const r = new Model({ num_2: 10 }).solve({}) as { solution: { y: number } };
        expect(r.solution.y).toBeCloseTo(40, 10);
        expect((globalThis as Record<string, unknown>)[MARK]).toBeUndefined();
      }),
      { numRuns: 25 },
    );
  }, 60_000);

  it('commentText leaves no line break and no comment end; literal no raw line separator', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '*', '/', '\n', '\r', '\u2028', '\u2029', '"', '\\', '$', '{') }), (s) => {
        const c = commentText(s);
        expect(c).not.toMatch(/[\n\r\u2028\u2029]/);
        expect(c).not.toContain('*/');
        const l = literal(s);
        expect(l).not.toMatch(/[\n\r\u2028\u2029]/);
        expect(eval(l)).toBe(s);
      }),
      { numRuns: 300 },
    );
  });

  it('implc build and solve take a path with a newline, code and `*/`: no injection, no crash', () => {
    mkdirSync('.build', { recursive: true });
    const root = mkdtempSync('.build/paths-');
    try {
      const text = 'model M {\n  param num_2: real\n  unknown y: real\n  fixpoint y = 0.5 * y + 2 * num_2\n}\n';
      writeFileSync(join(root, 'in.json'), '{"num_2": 10}');
      // The example: the header line comment ends at the newline, and `//` comments out
      // the rest of the path (the path is passed as written, `//` and all).
      const injecting = join(root, 'p\nprocess.stderr.write("INJECTED");');
      mkdirSync(injecting);
      writeFileSync(join(injecting, 'm.impl'), text);
      const solve = spawnSync(process.execPath, ['bin/implc.js', 'solve', `${injecting}//m.impl`, '--input', join(root, 'in.json')], { encoding: 'utf8' });
      expect(solve.stderr).not.toContain('INJECTED');
      expect(solve.status).toBe(0);
      expect(JSON.parse(solve.stdout).solution).toEqual({ y: 40 });
      // `*/` in the path would end the class's doc comment.
      const closing = join(root, 'q*');
      mkdirSync(closing);
      writeFileSync(join(closing, 'm.impl'), text);
      const out = join(root, 'out');
      const build = spawnSync(process.execPath, ['bin/implc.js', 'build', join(closing, 'm.impl'), '-o', out], { encoding: 'utf8' });
      expect(build.stderr).toBe('');
      expect(build.status).toBe(0);
      expect(readdirSync(out)).toEqual(['M.ts']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
