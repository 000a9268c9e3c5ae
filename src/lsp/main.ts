/**
 * The language server as a program: `tsx src/lsp/main.ts --stdio` (what the tests spawn; the
 * command line's `implc lsp` calls the same `startServer`). It speaks on stdin and stdout
 * whatever the arguments; `--stdio`, which LSP clients add, is accepted and changes nothing.
 */
import { startServer } from './server.ts';

startServer();
