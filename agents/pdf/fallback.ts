// Two engines as one: the preferred one reads the document, and the other tries whatever it could
// not read: the whole document when it cannot open it, a page it fails on, or a page it returns no
// text for although the page has text objects (or may have: pdf.js cannot tell cheaply). Each page
// says which engine produced it; the other engine is opened only when first needed.
import type { DocMeta, DocWarning, EngineName } from "../../schemas/index.ts";
import { StageError } from "../errors.ts";
import type { OpenOptions, PageRead, PdfDocument, PdfEngine } from "./engine.ts";
import { unreadable } from "./reading.ts";

/** Opening errors the other engine cannot do better on. */
const FINAL = new Set(["PDF_EMPTY", "PDF_PASSWORD_REQUIRED", "PDF_PASSWORD_WRONG", "PDF_TOO_LARGE"]);

const asStageError = (err: unknown) =>
  err instanceof StageError
    ? err
    : new StageError("PDF_CORRUPT", String((err as Error)?.message ?? err), { cause: err });

class FallbackDocument implements PdfDocument {
  readonly engine: EngineName;
  readonly pageCount: number;
  readonly warnings: readonly DocWarning[];
  readonly #main: PdfDocument;
  readonly #other: () => Promise<PdfDocument | undefined>;
  #opened: Promise<PdfDocument | undefined> | undefined;

  constructor(main: PdfDocument, other: () => Promise<PdfDocument | undefined>, warnings: DocWarning[] = []) {
    this.#main = main;
    this.#other = other;
    this.engine = main.engine;
    this.pageCount = main.pageCount;
    this.warnings = [...main.warnings, ...warnings];
  }

  #second(): Promise<PdfDocument | undefined> {
    this.#opened ??= this.#other().catch(() => undefined);
    return this.#opened;
  }

  meta(): Promise<DocMeta> {
    return this.#main.meta();
  }

  pageCosts(): Promise<number[] | undefined> {
    return this.#main.pageCosts();
  }

  async pageText(page: number): Promise<string> {
    return (await this.readPage(page)).text;
  }

  async readPage(page: number): Promise<PageRead> {
    let text: string;
    try {
      text = await this.#main.pageText(page);
    } catch (err) {
      const failure = asStageError(err);
      if (failure.retryable) throw failure;
      const other = await this.#second();
      if (!other || other.pageCount !== this.pageCount) throw failure;
      return { text: await other.pageText(page), engine: other.engine };
    }
    if (text.trim().length > 0) return { text, engine: this.engine };
    // No text: blank and scanned pages are common, so ask the cheap question first when the engine can.
    if (this.#main.showsText && !(await this.#main.showsText(page).catch(() => true))) {
      return { text, engine: this.engine };
    }
    const other = await this.#second();
    if (!other || other.pageCount !== this.pageCount) return { text, engine: this.engine };
    const second = await other.pageText(page).catch(() => "");
    return second.trim().length > 0 ? { text: second, engine: other.engine } : { text, engine: this.engine };
  }

  async close(): Promise<void> {
    const other = this.#opened ? await this.#opened : undefined;
    await Promise.allSettled([this.#main.close(), other?.close()]);
  }
}

/** `main`, with `other` trying what `main` cannot read; without `other`, just `main`. */
export function withFallback(main: PdfEngine, other: PdfEngine | undefined): PdfEngine {
  if (!other) return main;
  return {
    name: main.name,
    async open(bytes: Uint8Array, options: OpenOptions = {}): Promise<PdfDocument> {
      const second = () => other.open(bytes, options);
      let first: PdfDocument;
      try {
        first = await main.open(bytes, options);
      } catch (err) {
        const failure = asStageError(err);
        if (FINAL.has(failure.code) || failure.retryable) throw failure;
        let doc: PdfDocument;
        try {
          doc = await second();
        } catch {
          throw unreadable(bytes, failure);
        }
        const warning: DocWarning = {
          code: "PDF_ENGINE_FALLBACK",
          message: `${main.name} could not open the document (${failure.message}); ${other.name} read it`,
        };
        return new FallbackDocument(doc, async () => undefined, [warning]);
      }
      return new FallbackDocument(first, second);
    },
  };
}
