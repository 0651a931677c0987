// Text and statistics for a range of pages of one opened document: the extract stage's loop, also
// run by any task that extracts a document it holds (a small document extracted where it was
// submitted). One shape for both, so per-page engine and error fields and the document's warnings
// reach the result the same way from either.
import type { DocWarning, PageText } from "../../schemas/index.ts";
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

/**
 * Extracts pages `firstPage..lastPage` (1-based, inclusive). Checks `signal` before every page, so
 * a task past its time limit stops within one page; throws TASK_TIMEOUT (retryable) then.
 */
export async function extractPages(
  doc: PdfDocument,
  span: PageSpan,
  signal?: AbortSignal,
): Promise<ExtractedPages> {
  const pages: PageText[] = [];
  for (let page = span.firstPage; page <= span.lastPage; page++) {
    if (signal?.aborted) throw new StageError("TASK_TIMEOUT", "cancelled", { retryable: true });
    const text = await doc.pageText(page);
    pages.push({ page, text, chars: text.length, words: countWords(text) });
  }
  return { pages, warnings: [] };
}
