// The PDF engine interface. Two engines stand behind it: PDFium (WebAssembly) and pdf.js; whichever
// is preferred, the other reads what it cannot (agents/pdf/fallback.ts).
import type { DocMeta, DocWarning, EngineName } from "../../schemas/index.ts";

export type OpenOptions = {
  /** The document's password (user or owner); encrypted documents with an empty one open without. */
  password?: string;
  /** The engine this document asks for (agents/pdf/engines.ts); engines themselves ignore it. */
  engine?: EngineName;
  /**
   * The decompression cap (bytes) these very bytes were already checked under on this host, by the
   * agent that split the document (agents/shared-bytes.ts): not checked again against a cap at
   * least as high. Never taken from a message: a task's input cannot turn the check off.
   */
  inflateChecked?: number;
};

/** A page's text and the engine that produced it. */
export type PageRead = { text: string; engine: EngineName };

export interface PdfDocument {
  readonly pageCount: number;
  /** The engine that opened the document. */
  readonly engine: EngineName;
  /** What was unusual about the file but did not stop it being read (no %%EOF, junk before the header). */
  readonly warnings: readonly DocWarning[];
  meta(): Promise<DocMeta>;
  /**
   * A relative cost per page (content-stream bytes), for planning chunks of similar cost;
   * undefined when the engine cannot tell.
   */
  pageCosts(): Promise<number[] | undefined>;
  /** Text of one page (1-based), lines separated by "\n"; throws StageError PDF_PAGE_CORRUPT for a bad page. */
  pageText(page: number): Promise<string>;
  /** The page's text and which engine produced it (the fallback engine's, for some pages). */
  readPage(page: number): Promise<PageRead>;
  /** Whether the page has text objects, when the engine can tell cheaply. */
  showsText?(page: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface PdfEngine {
  readonly name: EngineName;
  /** The cap every open checks a document's decompressed size against first (agents/pdf/engines.ts). */
  readonly maxInflatedBytes?: number;
  /** Opens a document; throws StageError with a PDF_* code for input that is not a usable PDF. */
  open(bytes: Uint8Array, options?: OpenOptions): Promise<PdfDocument>;
}

/** readPage for an engine's own documents: its text, by that engine. */
export function readPageWith(
  doc: Pick<PdfDocument, "pageText" | "engine">,
): (page: number) => Promise<PageRead> {
  return async (page) => ({ text: await doc.pageText(page), engine: doc.engine });
}
