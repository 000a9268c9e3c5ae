// Entry of the worker threads of WorkerPool: workers do not inherit the TypeScript loader of
// the thread that starts them, so each registers tsx's (as bin/implc.js does) and then
// imports the worker's TypeScript code.
import { register } from 'tsx/esm/api';

register();
await import('./worker-main.ts');
