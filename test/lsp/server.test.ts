/**
 * The language server driven over JSON-RPC, as an editor drives it: in process on a pair of
 * in-memory streams (fast), and once as a spawned program on stdio. Expected positions are
 * computed from the test's own text (line and UTF-16 index of a substring), expected
 * diagnostics from `implc check --format json` and the model hover from `implc explain`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConnection, createMessageConnection, ProposedFeatures, StreamMessageReader, StreamMessageWriter,
  type CodeAction, type CompletionItem, type Diagnostic, type Hover, type Location, type MessageConnection,
  type PublishDiagnosticsParams, type Range,
} from 'vscode-languageserver/node.js';
import { runCheck } from '../../src/cli/check.ts';
import { runExplain } from '../../src/cli/explain.ts';
import { createServer } from '../../src/lsp/server.ts';

/** The 0-based line and UTF-16 character of `text`'s `nth` occurrence of `needle` (plus `shift` characters). */
function positionOf(text: string, needle: string, nth = 0, shift = 0) {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`no occurrence ${nth} of ${needle}`);
  }
  at += shift;
  const before = text.slice(0, at).split('\n');
  return { line: before.length - 1, character: before[before.length - 1].length };
}
function rangeOfText(text: string, needle: string, nth = 0): Range {
  const start = positionOf(text, needle, nth);
  return { start, end: { line: start.line, character: start.character + needle.length } };
}

/** A client on one end of the protocol: requests, and the diagnostics the server publishes, in order. */
class Client {
  private readonly published: PublishDiagnosticsParams[] = [];
  private waiters: { uri: string; resolve: (p: PublishDiagnosticsParams) => void }[] = [];
  private version = new Map<string, number>();

  constructor(readonly rpc: MessageConnection) {
    rpc.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      const w = this.waiters.find((x) => x.uri === p.uri);
      if (w) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(p);
      } else this.published.push(p);
    });
    rpc.listen();
  }

  initialize() {
    return this.rpc.sendRequest('initialize', { processId: null, rootUri: null, capabilities: { textDocument: { completion: { completionItem: { snippetSupport: true } } } } });
  }

  /** The next diagnostics published for `uri`. */
  next(uri: string, timeoutMs = 10_000): Promise<PublishDiagnosticsParams> {
    const i = this.published.findIndex((p) => p.uri === uri);
    if (i >= 0) return Promise.resolve(this.published.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri} in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ uri, resolve: (p) => (clearTimeout(timer), resolve(p)) });
    });
  }

  open(uri: string, text: string) {
    this.version.set(uri, 1);
    return this.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'impl', version: 1, text } });
  }

  /** Replace the whole text (a full-document change event). */
  change(uri: string, text: string) {
    const version = (this.version.get(uri) ?? 0) + 1;
    this.version.set(uri, version);
    return this.rpc.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
  }

  hover(uri: string, position: { line: number; character: number }) {
    return this.rpc.sendRequest('textDocument/hover', { textDocument: { uri }, position }) as Promise<Hover | null>;
  }
}

function inProcess(): Client {
  const up = new PassThrough();
  const down = new PassThrough();
  const server = createConnection(ProposedFeatures.all, new StreamMessageReader(up), new StreamMessageWriter(down));
  createServer(server, { debounceMs: 0 });
  server.listen();
  return new Client(createMessageConnection(new StreamMessageReader(down), new StreamMessageWriter(up)));
}

const dir = mkdtempSync(join(tmpdir(), 'implc-lsp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** A file on disk (for the command line to read) and its URI (for the server). */
function file(name: string, text: string) {
  const path = join(dir, name);
  writeFileSync(path, text);
  return { path, uri: pathToFileURL(path).href, text };
}

async function cliJson(path: string) {
  let out = '';
  runCheck([path], { format: 'json', denyWarnings: false }, { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => undefined } });
  return JSON.parse(out) as { diagnostics: { code: string; severity: string; message: string; span: { start: { line: number; column: number }; end: { line: number; column: number } }; notes: string[]; help: string | null; related: unknown[] }[] };
}

const LASSO = `model Lasso {
  dim n, p
  data X: real[n, p]
  data y: real[n]
  param lambda: real
  let step = 1 / opnorm(X)^2
  unknown beta: real[p] = 0
  fixpoint beta = soft_threshold(beta - step * X' * (X * beta - y), step * lamda)
  output loss = 0.5 * sumsq(X * beta - y)
}
`;
const LASSO_FIXED = LASSO.replace('lamda', 'lambda');

const DEQ = `// A deep equilibrium layer.
model Deq {
  dim d, h
  param W: real[h, h]
  param U: real[h, d]
  param b: real[h]
  data u: real[d]
  unknown z: real[h]
  fixpoint z = relu(W * z + U * u + b)
}
`;

describe('the language server over JSON-RPC, in process', () => {
  const client = inProcess();
  let init: { capabilities: Record<string, unknown>; serverInfo?: { name: string } };
  beforeAll(async () => {
    init = (await client.initialize()) as typeof init;
    await client.rpc.sendNotification('initialized', {});
  });

  it('announces what it serves', () => {
    expect(init.serverInfo?.name).toBe('implc');
    expect(init.capabilities).toMatchObject({ hoverProvider: true, definitionProvider: true, codeActionProvider: { codeActionKinds: ['quickfix'] } });
    expect(init.capabilities.completionProvider).toBeDefined();
  });

  it('publishes the undeclared name with its code, span and help, and nothing once it is fixed', async () => {
    const f = file('lasso.impl', LASSO);
    await client.open(f.uri, f.text);
    const { diagnostics } = await client.next(f.uri);
    // `lambda` is unused while the use is misspelled: W0110 on its declaration.
    expect(diagnostics.map((d) => d.code)).toEqual(['W0110', 'E0101']);
    const d = diagnostics[1];
    expect(diagnostics[0].range).toEqual(rangeOfText(LASSO, 'lambda'));
    expect(d).toMatchObject({ code: 'E0101', severity: 1, source: 'implc', range: rangeOfText(LASSO, 'lamda') });
    expect(d.message.split('\n')[0]).toBe('`lamda` is not declared');
    expect(d.message).toContain('help: did you mean `lambda`?');

    await client.change(f.uri, LASSO_FIXED);
    expect((await client.next(f.uri)).diagnostics).toEqual([]);
  });

  it('gives the same codes, severities, messages, spans, notes and help as `implc check`, analysis warnings included', async () => {
    const text = `// |y| = x has two branches for x > 0: no implicit function at 0.
model AbsKink {
  param x: real
  unknown y: real
  let unused = 2 * x
  solve abs(y) - x = 0
}
model Broken {
  dim n
  param w: real[n]
  unknown v: real[m]
  fixpoint v = relu(w .* v + bogus(w))
}
`;
    const f = file('mixed.impl', text);
    await client.open(f.uri, f.text);
    const got = (await client.next(f.uri)).diagnostics;
    const want = (await cliJson(f.path)).diagnostics;
    expect(want.map((d) => d.code)).toEqual(expect.arrayContaining(['W0501', 'W0110', 'E0105', 'E0103']));
    expect(got.map((d) => d.code)).toEqual(want.map((d) => d.code));
    got.forEach((d, i) => {
      const w = want[i];
      expect(d.severity).toBe(w.severity === 'error' ? 1 : 2);
      expect(d.message.split('\n')[0]).toBe(w.message);
      expect(d.range).toEqual({
        start: { line: w.span.start.line - 1, character: w.span.start.column - 1 },
        end: { line: w.span.end.line - 1, character: w.span.end.column - 1 },
      });
      for (const n of w.notes) expect(d.message).toContain(`note: ${n}`);
      if (w.help) expect(d.message).toContain(`help: ${w.help}`);
      expect(d.relatedInformation ?? []).toHaveLength(w.related.length);
    });
  });

  it('counts columns in UTF-16 code units, as LSP does', async () => {
    // U+1F600 is two UTF-16 code units: a column counted in code points would be one short.
    const text = 'model M {\n  param a: real /* \u{1F600} */ ; unknown y: real\n  fixpoint y = 0.5 * y + a * aa\n}\n';
    const f = file('emoji.impl', text);
    await client.open(f.uri, f.text);
    const { diagnostics } = await client.next(f.uri);
    expect(diagnostics.map((d) => d.code)).toEqual(['E0101']);
    expect(diagnostics[0].range).toEqual(rangeOfText(text, 'aa'));
    const text2 = 'model M {\n  param a: real\n  unknown y: real /* \u{1F600}\u{1F600} */ fixpoint y = 0.5 * y + a * aa\n}\n';
    await client.change(f.uri, text2);
    const again = await client.next(f.uri);
    expect(again.diagnostics[0].range).toEqual(rangeOfText(text2, 'aa'));
    expect(again.diagnostics[0].range.start.character).toBe(text2.split('\n')[2].indexOf('aa'));
  });

  it('hovers a param with its kind and type, at its declaration and at a use', async () => {
    const f = file('deq.impl', DEQ);
    await client.open(f.uri, f.text);
    await client.next(f.uri);
    const atDecl = await client.hover(f.uri, positionOf(DEQ, 'W: real'));
    const atUse = await client.hover(f.uri, positionOf(DEQ, 'W * z', 0, 1));
    for (const h of [atDecl, atUse]) {
      expect(JSON.stringify(h?.contents)).toContain('param W: real[h, h]');
      expect(JSON.stringify(h?.contents)).toContain('parameter');
    }
    expect(atUse?.range).toEqual({ start: positionOf(DEQ, 'W * z'), end: positionOf(DEQ, 'W * z', 0, 1) });
    const letHover = await (async () => {
      const f2 = file('lasso-fixed.impl', LASSO_FIXED);
      await client.open(f2.uri, f2.text);
      await client.next(f2.uri);
      return client.hover(f2.uri, positionOf(LASSO_FIXED, 'step *', 0, 2));
    })();
    expect(JSON.stringify(letHover?.contents)).toContain('let step: real');
  });

  it('hovers names of a model with errors with the types as written', async () => {
    const text = 'model M {\n  dim n\n  param W: real[n, n]\n  let s = 2 * W\n  unknown y: real[n]\n  fixpoint y = relu(W * y + bogus)\n}\n';
    const f = file('errors.impl', text);
    await client.open(f.uri, f.text);
    expect((await client.next(f.uri)).diagnostics.map((d) => d.code)).toContain('E0101');
    const w = await client.hover(f.uri, positionOf(text, 'W * y'));
    expect((w?.contents as { value: string }).value).toContain('param W: real[n, n]');
    const let_ = await client.hover(f.uri, positionOf(text, 's = '));
    expect((let_?.contents as { value: string }).value).toContain('let s\n');
    expect((let_?.contents as { value: string }).value).toContain('= `2 * W`');
    const model = await client.hover(f.uri, positionOf(text, 'M {'));
    expect((model?.contents as { value: string }).value).toContain('not analyzed: fix its errors first');
  });

  it('refuses a file over the size the command line reads, as the command line does', async () => {
    const text = `model M {\n  param a: real\n}\n${'// padding\n'.repeat(60_000)}`;
    expect(Buffer.byteLength(text)).toBeGreaterThan(512 * 1024);
    const f = file('big.impl', text);
    await client.open(f.uri, f.text);
    const { diagnostics } = await client.next(f.uri);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0].message).toContain('over the limit of 524288');
    expect(await client.hover(f.uri, positionOf(text, 'a: real'))).toBeNull();
  });

  it('hovers a primitive with its signature, summary and kink convention', async () => {
    const f = file('lasso-hover.impl', LASSO_FIXED);
    await client.open(f.uri, f.text);
    await client.next(f.uri);
    const h = await client.hover(f.uri, positionOf(LASSO_FIXED, 'soft_threshold', 0, 4));
    const value = (h?.contents as { value: string }).value;
    expect(value).toContain('soft_threshold(u, t)');
    expect(value).toContain('sign(u) max(|u| - t, 0)');
    expect(value).toContain('|u| = t');
    expect(value).toContain('[0, 1]');
  });

  it('hovers the model name with the verdict, test, B and A that `implc explain` prints', async () => {
    const f = file('deq-model.impl', DEQ);
    await client.open(f.uri, f.text);
    await client.next(f.uri);
    const h = await client.hover(f.uri, positionOf(DEQ, 'Deq', 0, 1));
    const value = (h?.contents as { value: string }).value;
    let out = '';
    await runExplain([f.path], { format: 'text' }, { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => undefined } });
    const field = (name: string) => new RegExp(`^  ${name}\\s+(.*)$`, 'm').exec(out)![1];
    const [, verdict, test] = /^(\S+) \((.*)\)$/.exec(field('verdict'))!;
    expect(verdict).toBe('guarded');
    expect(value).toContain(`${verdict} (${test})`);
    expect(value).toContain(field('B = dF/dy'));
    expect(value).toContain(field('A = dF/dx'));
    expect(value).toContain('I - D_relu * W');
    expect(value).toContain(field('guard'));
  });

  it('goes from a used name to its declaration', async () => {
    const f = file('lasso-def.impl', LASSO_FIXED);
    await client.open(f.uri, f.text);
    await client.next(f.uri);
    const use = positionOf(LASSO_FIXED, 'step * lambda', 0, 2);
    const loc = (await client.rpc.sendRequest('textDocument/definition', { textDocument: { uri: f.uri }, position: use })) as Location;
    expect(loc).toEqual({ uri: f.uri, range: rangeOfText(LASSO_FIXED, 'step') });
    const dimUse = positionOf(LASSO_FIXED, 'real[p]');
    const dimLoc = (await client.rpc.sendRequest('textDocument/definition', { textDocument: { uri: f.uri }, position: { line: dimUse.line, character: dimUse.character + 5 } })) as Location;
    expect(dimLoc.range).toEqual({ start: positionOf(LASSO_FIXED, ', p', 0, 2), end: positionOf(LASSO_FIXED, ', p', 0, 3) });
  });

  it('completes the names in scope, the keywords and the primitives with their parameters', async () => {
    // The cursor is inside an unfinished `let` (a syntax error): the names before it are offered.
    const text = 'model M {\n  dim n\n  param theta: real[n]\n  let a = so\n  unknown later: real[n]\n}\n';
    const f = file('complete.impl', text);
    await client.open(f.uri, f.text);
    await client.next(f.uri);
    const items = (await client.rpc.sendRequest('textDocument/completion', { textDocument: { uri: f.uri }, position: positionOf(text, 'so', 0, 2) })) as CompletionItem[];
    const byLabel = new Map(items.map((i) => [i.label, i]));
    expect(byLabel.get('soft_threshold')?.detail).toBe('soft_threshold(u, t)');
    expect(JSON.stringify(byLabel.get('soft_threshold')?.documentation)).toContain('|u| = t');
    expect(byLabel.get('soft_threshold')?.insertText).toBe('soft_threshold(${1:u}, ${2:t})');
    expect(byLabel.get('theta')?.detail).toBe('param theta: real[n]');
    expect(byLabel.has('n')).toBe(true);
    expect(byLabel.has('later')).toBe(false);
    expect(byLabel.has('a')).toBe(false);
    expect(byLabel.get('zeros')?.detail).toBe('zeros(n) or zeros(n, m)');
    for (const k of ['fixpoint', 'unknown', 'solve', 'if', 'real']) expect(byLabel.get(k)?.kind).toBe(14);
  });

  it('completes names from the text while the model does not parse', async () => {
    const text = 'model M {\n  dim n, m\n  data X: real[n, m]\n  let g = relu(';
    const f = file('unfinished.impl', text);
    await client.open(f.uri, f.text);
    expect((await client.next(f.uri)).diagnostics.map((d) => d.code)).toContain('E0001');
    const items = (await client.rpc.sendRequest('textDocument/completion', { textDocument: { uri: f.uri }, position: positionOf(text, 'relu(', 0, 5) })) as CompletionItem[];
    const labels = items.map((i) => i.label);
    expect(labels).toEqual(expect.arrayContaining(['n', 'm', 'X', 'relu', 'model']));
  });

  it('outlines each model with its declared names and their types', async () => {
    const f = file('outline.impl', LASSO_FIXED + DEQ);
    await client.open(f.uri, f.text);
    await client.next(f.uri);
    const symbols = (await client.rpc.sendRequest('textDocument/documentSymbol', { textDocument: { uri: f.uri } })) as {
      name: string; selectionRange: Range; children: { name: string; detail: string; selectionRange: Range }[];
    }[];
    expect(symbols.map((s) => s.name)).toEqual(['Lasso', 'Deq']);
    expect(symbols[0].children.map((c) => c.name)).toEqual(['n', 'p', 'X', 'y', 'lambda', 'step', 'beta', 'loss']);
    expect(symbols[1].selectionRange).toEqual(rangeOfText(f.text, 'Deq'));
    expect(symbols[1].children.find((c) => c.name === 'W')).toMatchObject({ detail: 'param W: real[h, h]', selectionRange: { start: positionOf(f.text, 'W: real'), end: positionOf(f.text, 'W: real', 0, 1) } });
  });

  it('offers a quick fix for "did you mean", and the fixed text has no diagnostics', async () => {
    const f = file('lasso-fix.impl', LASSO);
    await client.open(f.uri, f.text);
    const diagnostics = (await client.next(f.uri)).diagnostics.filter((d) => d.code === 'E0101');
    const actions = (await client.rpc.sendRequest('textDocument/codeAction', {
      textDocument: { uri: f.uri },
      range: diagnostics[0].range,
      context: { diagnostics },
    })) as CodeAction[];
    expect(actions).toHaveLength(1);
    expect(actions[0].kind).toBe('quickfix');
    const edits = actions[0].edit!.changes![f.uri];
    expect(edits).toEqual([{ range: rangeOfText(LASSO, 'lamda'), newText: 'lambda' }]);
    // The same fix when the client does not send the data field back: read from the help line.
    const bare = diagnostics.map(({ data: _data, ...d }) => d as Diagnostic);
    const fromMessage = (await client.rpc.sendRequest('textDocument/codeAction', { textDocument: { uri: f.uri }, range: bare[0].range, context: { diagnostics: bare } })) as CodeAction[];
    expect(fromMessage[0].edit!.changes![f.uri]).toEqual(edits);
    const lines = LASSO.split('\n');
    const { start, end } = edits[0].range;
    lines[start.line] = lines[start.line].slice(0, start.character) + edits[0].newText + lines[start.line].slice(end.character);
    await client.change(f.uri, lines.join('\n'));
    expect((await client.next(f.uri)).diagnostics).toEqual([]);
  });

  it('offers the fix for a misspelled primitive too', async () => {
    const text = 'model M {\n  param a: real\n  unknown y: real\n  fixpoint y = 0.5 * sofplus(y) + a\n}\n';
    const f = file('softplus.impl', text);
    await client.open(f.uri, f.text);
    const { diagnostics } = await client.next(f.uri);
    expect(diagnostics.map((d) => d.code)).toEqual(['E0103']);
    const actions = (await client.rpc.sendRequest('textDocument/codeAction', { textDocument: { uri: f.uri }, range: diagnostics[0].range, context: { diagnostics } })) as CodeAction[];
    expect(actions[0].edit!.changes![f.uri]).toEqual([{ range: rangeOfText(text, 'sofplus'), newText: 'softplus' }]);
  });

  it('clears the diagnostics of a closed document', async () => {
    const f = file('closed.impl', LASSO);
    await client.open(f.uri, f.text);
    expect((await client.next(f.uri)).diagnostics).toHaveLength(2);
    await client.rpc.sendNotification('textDocument/didClose', { textDocument: { uri: f.uri } });
    expect((await client.next(f.uri)).diagnostics).toEqual([]);
  });
});

describe('the language server as a program on stdio', () => {
  it('starts, publishes diagnostics, shuts down and exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/lsp/main.ts', '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const client = new Client(createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin)));
    await client.initialize();
    await client.rpc.sendNotification('initialized', {});
    const uri = 'untitled:Lasso-1';
    await client.open(uri, LASSO);
    const { diagnostics } = await client.next(uri, 20_000);
    expect(diagnostics.map((d) => [d.code, d.range])).toEqual([
      ['W0110', rangeOfText(LASSO, 'lambda')],
      ['E0101', rangeOfText(LASSO, 'lamda')],
    ]);
    await client.rpc.sendRequest('shutdown');
    await client.rpc.sendNotification('exit');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    client.rpc.dispose();
  }, 30_000);
});
