// The PDF engine interface: pdf.js is the default; others (mupdf, pdfium) can stand in.
import type { DocMeta } from "../../schemas/index.ts";

export interface PdfDocument {
  readonly pageCount: number;
  meta(): Promise<DocMeta>;
  /**
   * A relative cost per page (content-stream bytes), for planning chunks of similar cost;
   * undefined when the engine cannot tell.
   */
  pageCosts(): Promise<number[] | undefined>;
  /** Text of one page (1-based), lines separated by "\n". */
  pageText(page: number): Promise<string>;
  close(): Promise<void>;
}

export interface PdfEngine {
  readonly name: string;
  /** Opens a document; throws StageError with a PDF_* code for input that is not a usable PDF. */
  open(bytes: Uint8Array): Promise<PdfDocument>;
}
