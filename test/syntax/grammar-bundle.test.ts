// The committed grammar bundle must be what `npm run grammar` makes from grammar/impl.ohm:
// regenerate it into a temporary directory with @ohm-js/cli and compare byte for byte, so a
// grammar edit without `npm run grammar` fails CI instead of shipping a stale parser.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

/** The `ohm` executable of @ohm-js/cli (its package.json `bin`). */
function ohmCli(): string {
  const pkgPath = require.resolve('@ohm-js/cli/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { bin: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin.ohm;
  return join(dirname(pkgPath), bin);
}

describe('grammar bundle', () => {
  let dir = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'implc-grammar-'));
    copyFileSync(join(root, 'grammar/impl.ohm'), join(dir, 'impl.ohm'));
    // The same command as `npm run grammar`, on the copy.
    execFileSync(process.execPath, [ohmCli(), 'generateBundles', '--withTypes', '--esm', join(dir, 'impl.ohm')], {
      cwd: dir,
      stdio: 'pipe',
    });
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(['impl.ohm-bundle.js', 'impl.ohm-bundle.d.ts'])('grammar/%s is up to date (run `npm run grammar`)', (file) => {
    const fresh = readFileSync(join(dir, file));
    const committed = readFileSync(join(root, 'grammar', file));
    // Compare as text first for a readable diff, then as bytes.
    expect(committed.toString('utf8')).toBe(fresh.toString('utf8'));
    expect(Buffer.compare(committed, fresh)).toBe(0);
  });

  it('the bundle the parser loads is that grammar', async () => {
    const { grammar } = await import('../../src/syntax/grammar.ts');
    expect(grammar.name).toBe('Impl');
    expect(grammar.match('model M { param x: real unknown y: real solve y - x = 0 }').succeeded()).toBe(true);
  });
});
