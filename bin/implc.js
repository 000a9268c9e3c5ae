#!/usr/bin/env node
// The command line. An installed package runs its compiled build (dist/, `npm run build`) with
// plain Node. A clone of the repository (src/ beside dist/) runs the build only when it is newer
// than every source file, and otherwise the TypeScript sources through tsx's loader, so that an
// edit needs no build step; `implc demo` always runs there from the sources, since the demos
// read the repository's samples/ beside them (the package does not ship them). IMPLC_SOURCES=1
// runs the sources in a clone whatever the build's age.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const built = new URL('dist/src/cli/main.js', root);

/** The newest modification time (ms) of a file under `dir`, or 0 when it has none. */
function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = new URL(entry.name + (entry.isDirectory() ? '/' : ''), dir);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}

function useBuild() {
  if (!existsSync(built)) return false;
  const sources = new URL('src/', root);
  if (!existsSync(sources)) return true;
  if (process.argv[2] === 'demo' || process.env.IMPLC_SOURCES === '1') return false;
  const stamp = new URL('dist/.built', root);
  if (!existsSync(stamp)) return false;
  const started = Number(readFileSync(stamp, 'utf8'));
  const folders = ['src/', 'codegen/', 'grammar/', 'demos/'].map((f) => new URL(f, root)).filter((f) => existsSync(f));
  return folders.every((f) => newest(f) < started);
}

let main;
if (useBuild()) {
  ({ main } = await import(built.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main();
