import { readFileSync } from 'node:fs';
import { usageError } from './output.ts';

/** Read a model file; report an unreadable one as a usage error instead of throwing. */
export function readModelFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    usageError(`cannot read \`${path}\`: ${reason}`);
    return null;
  }
}
