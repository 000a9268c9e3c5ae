/**
 * Bundles the browser DEQ demo (demos/browser/train-deq.ts) with esbuild: the generated module
 * of samples/deq_classifier.impl (emitted here, as `implc build` would), the runtime and gpu.js's
 * browser build, into one script and a page that runs it.
 *
 *   npx tsx demos/browser/bundle.ts [outDir]      # default .build/browser; open outDir/index.html
 *
 * Node's built-in modules that the runtime imports for its worker pool (node:os,
 * node:worker_threads) are replaced by stubs that throw if used: a page has no threads to pool.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { emitModule } from '../../codegen/emit-module.ts';
import { analyzeFile } from '../../src/pipeline.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The runtime's Node-only imports, as modules that export what it names and throw when used. */
const nodeStubs: Plugin = {
  name: 'node-stubs',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, () => ({
      contents: [
        'const missing = (what) => () => { throw new Error(what + " is not available in a browser"); };',
        'export default { availableParallelism: () => 1, cpus: () => [] };',
        'export class Worker { constructor() { missing("worker threads")(); } }',
        'export const parentPort = null, workerData = null;',
        'export const pathToFileURL = missing("node:url"), fileURLToPath = missing("node:url");',
      ].join('\n'),
      loader: 'js',
    }));
  },
};

export async function bundleBrowserDemo(outDir: string): Promise<{ page: string; bytes: number }> {
  mkdirSync(outDir, { recursive: true });
  const modelFile = join(root, 'samples/deq_classifier.impl');
  const analyzed = analyzeFile(modelFile, readFileSync(modelFile, 'utf8'));
  const generated = join(outDir, 'deq_classifier.generated.ts');
  writeFileSync(generated, emitModule(analyzed.analyses[0], modelFile).text);
  const outfile = join(outDir, 'train-deq.js');
  await build({
    entryPoints: [join(root, 'demos/browser/train-deq.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile,
    alias: { 'implc/runtime': join(root, 'src/runtime/index.ts'), 'implc-browser-model': generated },
    plugins: [nodeStubs],
    logLevel: 'error',
  });
  const page = join(outDir, 'index.html');
  writeFileSync(page, '<!doctype html>\n<html><head><meta charset="utf-8"><title>implc: a DEQ trained on WebGL</title></head>\n<body><pre id="result">running</pre>\n<script type="module" src="train-deq.js"></script>\n</body></html>\n');
  return { page, bytes: readFileSync(outfile).length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outDir = resolve(process.argv[2] ?? join(root, '.build/browser'));
  const { page, bytes } = await bundleBrowserDemo(outDir);
  process.stdout.write(`wrote ${page} (bundle ${(bytes / 1024).toFixed(0)} KiB)\n`);
}
