// pdf.js as the extraction engine. pdf.js 6 removed `isEvalSupported` together with the font
// compiler that used eval; test/pdfjs-no-eval.test.ts keeps it that way for the version we ship.
// No fonts are rendered: we need text and structure. But pdf.js in Node reads nothing it is not
// pointed at: without its packed CMaps, text in predefined-CMap fonts (CJK: UniJIS-UCS2-H,
// UniGB-UCS2-H, ...) is silently dropped; without the standard font data, text in non-embedded
// standard fonts loses its widths and some glyph names; without wasm, JBIG2/JPX decoders are missing.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DocMeta, DocWarning } from "../../schemas/index.ts";
import { StageError } from "../errors.ts";
import { contentSizes } from "./content-size.ts";
import { type OpenOptions, type PdfDocument, type PdfEngine, readPageWith } from "./engine.ts";
import { passwordError, readable } from "./reading.ts";

type PdfJs = typeof import("pdfjs-dist/legacy/build/pdf.mjs");
type TextItem = { str?: string; hasEOL?: boolean };

let pdfjsModule: Promise<PdfJs> | undefined;
/**
 * Loads pdf.js and its worker half into this thread. In Node pdf.js runs its "worker" in-thread
 * (a fake worker); handing it the module through globalThis.pdfjsWorker avoids its lazy
 * import of a relative URL on the first document.
 */
export function loadPdfJs(): Promise<PdfJs> {
  pdfjsModule ??= (async () => {
    const worker = await import("pdfjs-dist/legacy/build/pdf.worker.mjs");
    (globalThis as { pdfjsWorker?: unknown }).pdfjsWorker = worker;
    return import("pdfjs-dist/legacy/build/pdf.mjs");
  })();
  return pdfjsModule;
}

/** pdfjs-dist's own data folders, as the trailing-slash paths its Node file reader expects. */
const pdfjsDir = dirname(fileURLToPath(import.meta.resolve("pdfjs-dist/package.json")));
export const PDFJS_DATA = {
  cMapUrl: `${join(pdfjsDir, "cmaps")}/`,
  cMapPacked: true,
  standardFontDataUrl: `${join(pdfjsDir, "standard_fonts")}/`,
  wasmUrl: `${join(pdfjsDir, "wasm")}/`,
} as const;

function str(v: unknown): string | null {
  return typeof v === "string" && v.length > 0 ? v : null;
}

/** Joins text items the way a reader sees lines: hasEOL ends a line. */
export function joinTextItems(items: readonly unknown[]): string {
  let out = "";
  for (const it of items as TextItem[]) {
    if (typeof it.str === "string") out += it.str;
    if (it.hasEOL) out += "\n";
  }
  return out;
}

function classify(err: unknown, password: string | undefined): StageError {
  const e = err as { name?: string; message?: string };
  const message = e?.message ?? String(err);
  if (e?.name === "PasswordException") return passwordError(password);
  if (e?.name === "InvalidPDFException")
    return new StageError("PDF_CORRUPT", `corrupt PDF: ${message}`, { cause: err });
  return new StageError("PDF_CORRUPT", `the PDF could not be parsed: ${message}`, { cause: err });
}

class PdfJsDocument implements PdfDocument {
  readonly engine = "pdfjs" as const;
  readonly pageCount: number;
  readonly warnings: readonly DocWarning[];
  readonly #doc: Awaited<ReturnType<PdfJs["getDocument"]>["promise"]>;
  readonly #task: ReturnType<PdfJs["getDocument"]>;

  readonly #bytes: Uint8Array;

  constructor(
    task: ReturnType<PdfJs["getDocument"]>,
    doc: Awaited<ReturnType<PdfJs["getDocument"]>["promise"]>,
    bytes: Uint8Array,
    warnings: DocWarning[],
  ) {
    this.warnings = warnings;
    this.#task = task;
    this.#doc = doc;
    this.#bytes = bytes;
    this.pageCount = doc.numPages;
  }

  async pageCosts(): Promise<number[] | undefined> {
    try {
      const refs: number[] = [];
      for (let i = 1; i <= this.pageCount; i++) {
        const ref = (await this.#doc.getPage(i)).ref;
        if (!ref) return undefined;
        refs.push(ref.num);
      }
      return contentSizes(this.#bytes, refs);
    } catch {
      return undefined;
    }
  }

  async meta(): Promise<DocMeta> {
    const { info } = (await this.#doc.getMetadata().catch(() => ({ info: {} }))) as {
      info: Record<string, unknown>;
    };
    return {
      title: str(info.Title),
      author: str(info.Author),
      subject: str(info.Subject),
      keywords: str(info.Keywords),
      creator: str(info.Creator),
      producer: str(info.Producer),
      creationDate: str(info.CreationDate),
      modDate: str(info.ModDate),
      pdfVersion: str(info.PDFFormatVersion),
      pageCount: this.pageCount,
    };
  }

  async pageText(pageNumber: number): Promise<string> {
    try {
      const page = await this.#doc.getPage(pageNumber);
      const content = await page.getTextContent();
      page.cleanup();
      return joinTextItems(content.items);
    } catch (err) {
      const e = err as { message?: string };
      throw new StageError(
        "PDF_PAGE_CORRUPT",
        `page ${pageNumber} could not be parsed: ${e?.message ?? err}`,
        {
          cause: err,
        },
      );
    }
  }

  readPage = readPageWith(this);

  async close(): Promise<void> {
    await this.#task.destroy();
  }
}

export const pdfjsEngine: PdfEngine = {
  name: "pdfjs",
  async open(bytes: Uint8Array, options: OpenOptions = {}): Promise<PdfDocument> {
    const warnings = readable(bytes);
    const pdfjs = await loadPdfJs();
    // pdf.js transfers (detaches) the buffer it is given. Hand it a fresh copy: the caller's bytes
    // may be a cache entry, or a Node Buffer view into a pooled socket buffer, where Buffer's own
    // slice() would share memory and the transfer would fail inside pdf.js and never settle.
    const task = pdfjs.getDocument({
      data: new Uint8Array(bytes),
      ...PDFJS_DATA,
      disableFontFace: true,
      useSystemFonts: false,
      stopAtErrors: false,
      verbosity: 0,
      ...(options.password !== undefined && { password: options.password }),
    });
    try {
      return new PdfJsDocument(task, await task.promise, bytes, warnings);
    } catch (err) {
      await task.destroy().catch(() => {});
      throw classify(err, options.password);
    }
  },
};
