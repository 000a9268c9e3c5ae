/**
 * One version of an open `.impl` document and what the compiler made of it, computed on
 * first need and kept until the next edit: the front end (parse and check: what hover, go to
 * definition and completion read) and the full analysis (what `implc check` reports, and the
 * verdict, B and A that hover shows on a model's name). The analysis reuses nothing of an
 * earlier version: both stages take tens of milliseconds on the samples.
 */
import { fileURLToPath } from 'node:url';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { MAX_MODEL_BYTES } from '../cli/files.ts';
import { frontEnd, type FrontEndResult } from '../compile.ts';
import { analyzeFile, type AnalyzedFile } from '../pipeline.ts';

/** The file name diagnostics carry for a document: its path for a `file:` URI, else the URI. */
export function fileNameOf(uri: string): string {
  if (!uri.startsWith('file:')) return uri;
  try {
    return fileURLToPath(uri);
  } catch {
    return uri;
  }
}

export class ModelDocument {
  readonly file: string;
  /** The text and version when this was made (the editor's document object is updated in place). */
  readonly text: string;
  readonly version: number;
  private frontResult: FrontEndResult | undefined;
  private fullResult: AnalyzedFile | undefined;

  constructor(readonly doc: TextDocument) {
    this.file = fileNameOf(doc.uri);
    this.text = doc.getText();
    this.version = doc.version;
  }

  /**
   * The file's size in UTF-8 bytes when it is over the limit the command line reads
   * (src/cli/files.ts MAX_MODEL_BYTES: past it the parser's memory grows out of bounds), else null.
   */
  oversize(): number | null {
    if (this.text.length * 3 <= MAX_MODEL_BYTES) return null;
    const bytes = Buffer.byteLength(this.text, 'utf8');
    return bytes > MAX_MODEL_BYTES ? bytes : null;
  }

  /** Parse and check (the analysis's front end when that has run). */
  front(): FrontEndResult {
    this.frontResult ??= this.fullResult ?? frontEnd(this.file, this.text);
    return this.frontResult;
  }

  /** Front end and analysis, as `implc check` runs them (src/pipeline.ts). */
  analyzed(): AnalyzedFile {
    this.fullResult ??= analyzeFile(this.file, this.text);
    return this.fullResult;
  }
}
