// PDFium (Chrome's PDF engine, fuzzed continuously) as WebAssembly, through @embedpdf/pdfium. The
// module is instantiated once per thread, on the first document: a thread that never opens a
// document with PDFium never pays for it. Calls are synchronous inside WebAssembly, so a page that
// spins is stopped the same way as with pdf.js: by the host's watchdog terminating the thread.
import type { WrappedPdfiumModule } from "@embedpdf/pdfium";
import type { DocMeta } from "../../schemas/index.ts";
import { StageError } from "../errors.ts";
import { pageContentSizes } from "./content-size.ts";
import { type OpenOptions, type PdfDocument, type PdfEngine, readPageWith } from "./engine.ts";
import { instantiate, type PdfiumModule, pdfiumWasm } from "./pdfium-module.ts";
import { passwordError, readable } from "./reading.ts";

let module: Promise<WrappedPdfiumModule> | undefined;
let generation = 0;
let shared: PdfiumModule | undefined;

/** The compiled module this thread instantiates instead of compiling its own (agents/pdf/pdfium-module.ts). */
export function usePdfiumModule(m: PdfiumModule): void {
  shared = m;
}

/**
 * A WebAssembly trap or abort (out of memory, a PDFium assertion) leaves the instance unusable:
 * the next document gets a fresh one, and this one fails with a clear code.
 */
function wasmFailure(err: unknown): StageError {
  if (err instanceof StageError) return err;
  module = undefined;
  generation++;
  return new StageError(
    "PDF_RESOURCE_LIMIT",
    `PDFium failed on this document: ${(err as Error)?.message ?? err}`,
    {
      cause: err,
    },
  );
}

/** Instantiates PDFium in this thread (once). */
export function loadPdfium(): Promise<WrappedPdfiumModule> {
  module ??= (async () => {
    const { init } = await import("@embedpdf/pdfium");
    const compiled = shared;
    const m = await init(
      compiled
        ? {
            // Emscripten's hook for a module compiled elsewhere.
            instantiateWasm: (imports: unknown, done: (instance: unknown, module: PdfiumModule) => void) =>
              instantiate(compiled, imports, done),
          }
        : { wasmBinary: await pdfiumWasm() },
    );
    m.PDFiumExt_Init();
    return m;
  })();
  module.catch(() => {
    module = undefined;
  });
  return module;
}

// FPDF_GetLastError codes (fpdfview.h).
const FPDF_ERR_FORMAT = 3;
const FPDF_ERR_PASSWORD = 4;
const FPDF_ERR_SECURITY = 5;
const FPDF_PAGEOBJ_TEXT = 1;
const FPDF_PAGEOBJ_FORM = 5;
const META_TAGS = [
  "Title",
  "Author",
  "Subject",
  "Keywords",
  "Creator",
  "Producer",
  "CreationDate",
  "ModDate",
];

class PdfiumDocument implements PdfDocument {
  readonly engine = "pdfium" as const;
  readonly pageCount: number;
  readonly warnings;
  readonly #m: WrappedPdfiumModule;
  readonly #doc: number;
  readonly #data: number;
  readonly #bytes: Uint8Array;
  #closed = false;
  readonly #generation = generation;

  constructor(
    m: WrappedPdfiumModule,
    doc: number,
    data: number,
    bytes: Uint8Array,
    warnings: PdfDocument["warnings"],
  ) {
    this.#m = m;
    this.#doc = doc;
    this.#data = data;
    this.#bytes = bytes;
    this.warnings = warnings;
    this.pageCount = m.FPDF_GetPageCount(doc);
  }

  #utf16(read: (buf: number, len: number) => number): string {
    const bytes = read(0, 0);
    if (bytes <= 2) return "";
    const buf = this.#m.pdfium.wasmExports.malloc(bytes);
    try {
      read(buf, bytes);
      return this.#m.pdfium.UTF16ToString(buf);
    } finally {
      this.#m.pdfium.wasmExports.free(buf);
    }
  }

  async meta(): Promise<DocMeta> {
    const m = this.#m;
    const v: Record<string, string | null> = {};
    for (const tag of META_TAGS) {
      const s = this.#utf16((buf, len) => m.FPDF_GetMetaText(this.#doc, tag, buf, len));
      v[tag] = s.length > 0 ? s : null;
    }
    const out = m.pdfium.wasmExports.malloc(4);
    const version = m.FPDF_GetFileVersion(this.#doc, out) ? m.pdfium.getValue(out, "i32") : 0;
    m.pdfium.wasmExports.free(out);
    return {
      title: v.Title!,
      author: v.Author!,
      subject: v.Subject!,
      keywords: v.Keywords!,
      creator: v.Creator!,
      producer: v.Producer!,
      creationDate: v.CreationDate!,
      modDate: v.ModDate!,
      pdfVersion: version > 0 ? `${Math.floor(version / 10)}.${version % 10}` : null,
      pageCount: this.pageCount,
    };
  }

  async pageCosts(): Promise<number[] | undefined> {
    return pageContentSizes(this.#bytes, this.pageCount);
  }

  #withPage<T>(pageNumber: number, fn: (page: number) => T): T {
    if (this.#closed || this.#generation !== generation)
      throw new StageError("PDF_RESOURCE_LIMIT", "PDFium was reset after a failure on this document");
    try {
      const page = this.#m.FPDF_LoadPage(this.#doc, pageNumber - 1);
      if (!page) throw new StageError("PDF_PAGE_CORRUPT", `page ${pageNumber} could not be parsed by PDFium`);
      try {
        return fn(page);
      } finally {
        this.#m.FPDF_ClosePage(page);
      }
    } catch (err) {
      throw wasmFailure(err);
    }
  }

  async pageText(pageNumber: number): Promise<string> {
    const m = this.#m;
    return this.#withPage(pageNumber, (page) => {
      const text = m.FPDFText_LoadPage(page);
      if (!text)
        throw new StageError("PDF_PAGE_CORRUPT", `page ${pageNumber}: PDFium could not read its text`);
      try {
        const n = m.FPDFText_CountChars(text);
        if (n <= 0) return "";
        const buf = m.pdfium.wasmExports.malloc((n + 1) * 2);
        try {
          m.FPDFText_GetText(text, 0, n, buf);
          return m.pdfium.UTF16ToString(buf).replace(/\r\n?/g, "\n");
        } finally {
          m.pdfium.wasmExports.free(buf);
        }
      } finally {
        m.FPDFText_ClosePage(text);
      }
    });
  }

  readPage = readPageWith(this);

  /** Whether the page has text objects (directly or in form XObjects): cheap, no text layout. */
  async showsText(pageNumber: number): Promise<boolean> {
    const m = this.#m;
    const scan = (count: number, get: (i: number) => number, depth: number): boolean => {
      for (let i = 0; i < count; i++) {
        const obj = get(i);
        const type = m.FPDFPageObj_GetType(obj);
        if (type === FPDF_PAGEOBJ_TEXT) return true;
        if (type === FPDF_PAGEOBJ_FORM && depth < 8) {
          if (scan(m.FPDFFormObj_CountObjects(obj), (j) => m.FPDFFormObj_GetObject(obj, j), depth + 1))
            return true;
        }
      }
      return false;
    };
    return this.#withPage(pageNumber, (page) =>
      scan(m.FPDFPage_CountObjects(page), (i) => m.FPDFPage_GetObject(page, i), 0),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#generation !== generation) return; // that instance is gone, and its memory with it
    this.#m.FPDF_CloseDocument(this.#doc);
    this.#m.pdfium.wasmExports.free(this.#data);
  }
}

export const pdfiumEngine: PdfEngine = {
  name: "pdfium",
  async open(bytes: Uint8Array, options: OpenOptions = {}): Promise<PdfDocument> {
    const warnings = readable(bytes);
    const m = await loadPdfium();
    // PDFium reads the bytes in place for the document's lifetime: they are copied into its heap
    // and freed on close.
    const data = m.pdfium.wasmExports.malloc(Math.max(1, bytes.length));
    if (!data)
      throw new StageError("PDF_TOO_LARGE", `no memory for a ${bytes.length}-byte document in PDFium`);
    (m.pdfium as unknown as { HEAPU8: Uint8Array }).HEAPU8.set(bytes, data);
    let doc: number;
    try {
      doc = m.FPDF_LoadMemDocument(data, bytes.length, options.password ?? "");
    } catch (err) {
      throw wasmFailure(err);
    }
    if (!doc) {
      const err = m.FPDF_GetLastError();
      m.pdfium.wasmExports.free(data);
      if (err === FPDF_ERR_PASSWORD) throw passwordError(options.password);
      if (err === FPDF_ERR_SECURITY)
        throw new StageError("PDF_ENCRYPTED", "the PDF uses a security handler PDFium does not support");
      throw new StageError(
        "PDF_CORRUPT",
        err === FPDF_ERR_FORMAT
          ? "corrupt PDF: PDFium could not read its structure"
          : `PDFium could not open the PDF (error ${err})`,
      );
    }
    return new PdfiumDocument(m, doc, data, bytes, warnings);
  },
};
