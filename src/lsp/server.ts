/**
 * The implc language server (`implc lsp`): diagnostics as you type, hover, go to definition,
 * completion, "did you mean" quick fixes and the outline of `.impl` files, over the Language Server
 * Protocol (vscode-languageserver). Every answer comes from the compiler's own stages: the
 * diagnostics are those of `implc check` (front end and analysis, src/pipeline.ts), the model
 * hover is `implc explain`'s verdict.
 */
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  CodeActionKind, createConnection, DiagnosticSeverity, ProposedFeatures, TextDocuments, TextDocumentSyncKind,
  type Connection, type Diagnostic as LspDiagnostic, type InitializeResult,
} from 'vscode-languageserver/node.js';
import { MAX_MODEL_BYTES } from '../cli/files.ts';
import { packageVersion } from '../version.ts';
import { toLspDiagnostic } from './convert.ts';
import { ModelDocument } from './document.ts';
import { completion, definition, documentSymbols, hover, quickFixes } from './features.ts';

export interface ServerOptions {
  /**
   * Milliseconds between the last edit and the diagnostics of a document (default 100): a
   * burst of keystrokes is checked once. 0 checks on every change. Opening a document checks
   * it at once.
   */
  debounceMs?: number;
}

/** The server's name and version, as `initialize` answers. */
export const SERVER_INFO = { name: 'implc', version: packageVersion() } as const;

/**
 * Serve the protocol on `connection` (its handlers registered here; the caller calls
 * `connection.listen()`). Tests pass a connection over in-memory streams.
 */
export function createServer(connection: Connection, options: ServerOptions = {}): void {
  const debounceMs = options.debounceMs ?? 100;
  const documents = new TextDocuments(TextDocument);
  const cache = new Map<string, ModelDocument>();
  const timers = new Map<string, NodeJS.Timeout>();
  let snippets = false;

  /** The document's current version with its compiler results (kept until the next edit). */
  const current = (uri: string): ModelDocument | undefined => {
    const doc = documents.get(uri);
    if (!doc) return undefined;
    const cached = cache.get(uri);
    if (cached && cached.version === doc.version) return cached;
    const md = new ModelDocument(doc);
    cache.set(uri, md);
    return md;
  };

  const diagnosticsOf = (md: ModelDocument): LspDiagnostic[] => {
    const bytes = md.oversize();
    if (bytes !== null) {
      return [{
        range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
        severity: DiagnosticSeverity.Error,
        source: 'implc',
        message: `the file is ${bytes} bytes, over the limit of ${MAX_MODEL_BYTES} that implc reads: not checked`,
      }];
    }
    // An exception is a bug of implc (the command line exits 70 on one): log it, and publish what
    // the front end found, or nothing when the front end fails too.
    const internal = (e: unknown) => connection.console.error(`implc: internal error on ${md.doc.uri}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    try {
      return md.analyzed().diagnostics.map((d) => toLspDiagnostic(d, md.doc, md.file));
    } catch (e) {
      internal(e);
    }
    try {
      return md.front().diagnostics.map((d) => toLspDiagnostic(d, md.doc, md.file));
    } catch (e) {
      internal(e);
      return [];
    }
  };

  const validate = (uri: string) => {
    timers.delete(uri);
    const md = current(uri);
    if (!md) return;
    void connection.sendDiagnostics({ uri, version: md.version, diagnostics: diagnosticsOf(md) });
  };

  const schedule = (uri: string, delay: number) => {
    clearTimeout(timers.get(uri));
    if (delay <= 0) validate(uri);
    else timers.set(uri, setTimeout(() => validate(uri), delay));
  };

  connection.onInitialize((params): InitializeResult => {
    snippets = params.capabilities.textDocument?.completion?.completionItem?.snippetSupport === true;
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        definitionProvider: true,
        documentSymbolProvider: true,
        completionProvider: { resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      },
      serverInfo: SERVER_INFO,
    };
  });

  documents.onDidOpen((e) => schedule(e.document.uri, 0));
  documents.onDidChangeContent((e) => {
    // Opening fires a change too; the open has just checked this version.
    if (cache.get(e.document.uri)?.version !== e.document.version) schedule(e.document.uri, debounceMs);
  });
  documents.onDidClose((e) => {
    clearTimeout(timers.get(e.document.uri));
    timers.delete(e.document.uri);
    cache.delete(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  const at = (uri: string, position: { line: number; character: number }) => {
    const md = current(uri);
    return md && md.oversize() === null ? { md, offset: md.doc.offsetAt(position) } : undefined;
  };
  connection.onHover((p) => {
    const c = at(p.textDocument.uri, p.position);
    return c ? hover(c.md, c.offset) : null;
  });
  connection.onDefinition((p) => {
    const c = at(p.textDocument.uri, p.position);
    return c ? definition(c.md, c.offset) : null;
  });
  connection.onCompletion((p) => {
    const c = at(p.textDocument.uri, p.position);
    return c ? completion(c.md, c.offset, snippets) : [];
  });
  connection.onDocumentSymbol((p) => {
    const md = current(p.textDocument.uri);
    return md && md.oversize() === null ? documentSymbols(md) : [];
  });
  connection.onCodeAction((p) => {
    const md = current(p.textDocument.uri);
    return md ? quickFixes(md, p.context.diagnostics) : [];
  });
  connection.onShutdown(() => {
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
  });

  documents.listen(connection);
}

/**
 * Run the server on this process's stdin and stdout (`implc lsp`), until the client exits or
 * closes the stream. Nothing else may write to stdout then: console output goes to stderr.
 */
export function startServer(options: ServerOptions = {}): void {
  const toStderr = (...args: unknown[]) => void process.stderr.write(`${args.map(String).join(' ')}\n`);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  const connection = createConnection(ProposedFeatures.all, process.stdin, process.stdout);
  createServer(connection, options);
  connection.listen();
}
