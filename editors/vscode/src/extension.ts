/**
 * The VS Code client of the implc language server: starts `implc lsp` (stdio) for `.impl`
 * files, and restarts it when `implc.path` changes. Highlighting comes from the TextMate
 * grammar (syntaxes/impl.tmLanguage.json); everything else from the server.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { window, workspace, type ExtensionContext } from 'vscode';
import { LanguageClient, type Executable, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';

let client: LanguageClient | undefined;

/**
 * The executable to run: the `implc.path` setting, else the project's own implc
 * (`node_modules/.bin/implc` of a workspace folder, the version the project builds with),
 * else `implc` on the PATH.
 */
function implcCommand(): string {
  const configured = workspace.getConfiguration('implc').get<string>('path', '').trim();
  if (configured) return configured;
  const bin = process.platform === 'win32' ? 'implc.cmd' : 'implc';
  for (const folder of workspace.workspaceFolders ?? []) {
    const local = join(folder.uri.fsPath, 'node_modules', '.bin', bin);
    if (existsSync(local)) return local;
  }
  return 'implc';
}

async function start(): Promise<void> {
  const command = implcCommand();
  // No `transport`: the client spawns the command with these arguments and speaks on its
  // stdin and stdout (TransportKind.stdio would append `--stdio`). A `.cmd` shim needs a shell.
  const executable: Executable = { command, args: ['lsp'], options: { shell: process.platform === 'win32' } };
  const serverOptions: ServerOptions = { run: executable, debug: executable };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'impl' },
      { scheme: 'untitled', language: 'impl' },
    ],
  };
  client = new LanguageClient('implc', 'implc', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (e) {
    client = undefined;
    void window.showErrorMessage(`implc: cannot start \`${command} lsp\` (${e instanceof Error ? e.message : String(e)}). Install implc in the project (npm install implc) or set implc.path.`);
  }
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) await running.stop();
}

export async function activate(context: ExtensionContext): Promise<void> {
  context.subscriptions.push(
    workspace.onDidChangeConfiguration(async (e) => {
      if (!e.affectsConfiguration('implc.path')) return;
      await stop();
      await start();
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}
