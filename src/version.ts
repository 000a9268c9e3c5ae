import { existsSync, readFileSync } from 'node:fs';

/**
 * The package's version, from its package.json: one folder up from the sources (src/), two
 * from the build (dist/src/). Read once; 'unknown' when neither is the package's.
 */
export function packageVersion(): string {
  if (cached !== null) return cached;
  cached = 'unknown';
  for (const up of ['../package.json', '../../package.json']) {
    const url = new URL(up, import.meta.url);
    if (!existsSync(url)) continue;
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'implc' && pkg.version) {
      cached = pkg.version;
      break;
    }
  }
  return cached;
}

let cached: string | null = null;
