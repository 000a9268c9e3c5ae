/**
 * Issue 14, the real GPU backend: the browser DEQ demo (demos/browser) bundled with esbuild and
 * run in headless Chromium with WebGL2 on SwiftShader. The page trains a DEQ for a few steps with
 * every backward pass on gpu.js kernels in `gpu` mode; the test checks that they ran as WebGL2
 * shaders, that the f32 gradients agree with the f64 CPU ones (per-sample LU) to 1e-4 relative,
 * the refined ones to 1e-10, and that the loss went down. Skips cleanly without Chromium
 * (Debian: `apt-get install chromium`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleBrowserDemo } from '../../demos/browser/bundle.ts';

function findChromium(): string | null {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('which', [name], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

const chromium = findChromium();

describe.skipIf(chromium === null)('gpu.js backward on WebGL2 in headless Chromium', () => {
  it('trains a DEQ in a page: WebGL2 kernels in gpu mode, f32 gradients within 1e-4 of f64, refined within 1e-10', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'implc-browser-'));
    try {
      const { page } = await bundleBrowserDemo(dir);
      const dom = execFileSync(
        chromium!,
        ['--headless=new', '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--allow-file-access-from-files', '--dump-dom', '--virtual-time-budget=120000', `file://${page}`],
        { encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const text = dom.match(/<pre id="result">([^<]*)<\/pre>/)?.[1];
      expect(text, dom.slice(0, 2000)).toBeDefined();
      const r = JSON.parse(text!.replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
      expect(r.error, r.stack).toBeUndefined();
      expect(r.webgl2).toBe(true);
      expect(r.gpuMode).toBe('gpu');
      expect(r.backend).toMatch(/^WebGL2Kernel \(gpu\.js mode 'gpu'\)/);
      expect(r.relErrF32).toBeLessThan(1e-4);
      expect(r.relErrRefined).toBeLessThan(1e-10);
      // The bound the refinement stops on holds and is small.
      expect(r.errorBoundRefined).toBeLessThan(1e-10);
      const losses: number[] = r.losses;
      expect(losses.length).toBeGreaterThanOrEqual(3);
      expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
