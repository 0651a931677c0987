// Text and statistics for a range of pages of one opened document: the extract stage's loop, also
// run by any task that extracts a document it holds (a small document extracted where it was
// submitted). One bad page fails nothing else: its entry carries `error` and empty text. Both final
// result builders (merge, the single-task path) finish with documentWarnings().
import type { DocWarning, ErrorInfo, PageText } from "../../schemas/index.ts";
import { StageError } from "../errors.ts";
import { countWords } from "../text-stats.ts";
import type { PdfDocument } from "./engine.ts";

export type PageSpan = { firstPage: number; lastPage: number };

export type ExtractedPages = {
  /** One entry per page of the range, in page order. */
  pages: PageText[];
  /** What was repaired or worked around while reading these pages (empty when nothing was). */
  warnings: DocWarning[];
};

/** "2, 5-9, 12": page lists in warnings stay short for long documents. */
export function pageList(pages: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < pages.length; i++) {
    let j = i;
    while (j + 1 < pages.length && pages[j + 1] === pages[j]! + 1) j++;
    out.push(j > i ? `${pages[i]}-${pages[j]}` : `${pages[i]}`);
    i = j;
  }
  return out.length > 20 ? `${out.slice(0, 20).join(", ")}, ...` : out.join(", ");
}

const PAGE_MESSAGES: Partial<Record<DocWarning["code"], (pages: number[]) => string>> = {
  PDF_PAGE_FAILED: (p) => `${p.length} page(s) could not be read: ${pageList(p)} (see each page's error)`,
  PDF_ENGINE_FALLBACK: (p) => `${p.length} page(s) were read by the fallback engine: ${pageList(p)}`,
};

function pageWarnings(doc: PdfDocument, pages: PageText[]): DocWarning[] {
  const failed = pages.filter((p) => p.error).map((p) => p.page);
  const fallback = pages.filter((p) => !p.error && p.engine !== doc.engine).map((p) => p.page);
  const out: DocWarning[] = [];
  if (failed.length > 0)
    out.push({ code: "PDF_PAGE_FAILED", message: PAGE_MESSAGES.PDF_PAGE_FAILED!(failed), pages: failed });
  if (fallback.length > 0)
    out.push({
      code: "PDF_ENGINE_FALLBACK",
      message: PAGE_MESSAGES.PDF_ENGINE_FALLBACK!(fallback),
      pages: fallback,
    });
  return out;
}

/**
 * Extracts pages `firstPage..lastPage` (1-based, inclusive). Checks `signal` before every page, so
 * a task past its time limit stops within one page; throws TASK_TIMEOUT (retryable) then. A page
 * the engines cannot parse gets `error` (and no text); anything retryable is thrown. `yieldNow`,
 * asked between pages (after the first), ends the range early: the pages so far come back, and
 * the caller hands the rest on (a whole document that yields to higher-priority work).
 */
export async function extractPages(
  doc: PdfDocument,
  span: PageSpan,
  signal?: AbortSignal,
  yieldNow?: () => boolean | Promise<boolean>,
): Promise<ExtractedPages> {
  const pages: PageText[] = [];
  for (let page = span.firstPage; page <= span.lastPage; page++) {
    if (signal?.aborted) throw new StageError("TASK_TIMEOUT", "cancelled", { retryable: true });
    if (pages.length > 0 && yieldNow && (await yieldNow())) break;
    try {
      const { text, engine } = await doc.readPage(page);
      pages.push({ page, text, chars: text.length, words: countWords(text), engine });
    } catch (err) {
      if (!(err instanceof StageError) || err.retryable) throw err;
      const error = { code: err.code, message: err.message };
      pages.push({ page, text: "", chars: 0, words: 0, engine: doc.engine, error });
    }
  }
  return { pages, warnings: [...doc.warnings, ...pageWarnings(doc, pages)] };
}

/**
 * A document's warnings from its chunks' (one per code; page lists united), and the error that
 * fails it when not one of its pages could be read.
 */
export function documentWarnings(
  pages: readonly PageText[],
  chunkWarnings: readonly DocWarning[],
): { warnings: DocWarning[]; error?: ErrorInfo } {
  const byCode = new Map<DocWarning["code"], DocWarning>();
  for (const w of chunkWarnings) {
    const seen = byCode.get(w.code);
    if (!seen) {
      byCode.set(w.code, { ...w, ...(w.pages && { pages: [...w.pages] }) });
    } else if (w.pages) {
      seen.pages = [...new Set([...(seen.pages ?? []), ...w.pages])].sort((a, b) => a - b);
      const message = PAGE_MESSAGES[w.code];
      if (message) seen.message = message(seen.pages);
    }
  }
  const warnings = [...byCode.values()];
  if (pages.length > 0 && pages.every((p) => p.error)) {
    const first = pages[0]!.error!;
    return {
      warnings,
      error: {
        code: "PDF_NO_READABLE_PAGE",
        message: `none of the ${pages.length} pages could be read (page 1: ${first.code}: ${first.message})`,
        retryable: false,
      },
    };
  }
  return { warnings };
}
