// Checks of a final result against the document it came from.
import type { ExecutionContext } from "ava";
import { type ErrorCode, FinalResult } from "../../schemas/index.ts";
import { firstLine, type KnownDoc } from "./pdf.ts";

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/**
 * A `done` result with every page's known text, in page order, with consistent statistics. `docId`
 * when the document was submitted under another id than the one printed on its pages.
 */
export function assertDone(
  t: ExecutionContext,
  result: unknown,
  doc: KnownDoc,
  docId: string = doc.docId,
): FinalResult {
  const parsed = FinalResult.safeParse(result);
  if (!parsed.success) {
    t.fail(`not a FinalResult: ${parsed.error.message}`);
    throw parsed.error;
  }
  const r = parsed.data;
  const n = doc.pages.length;
  t.is(r.docId, docId);
  t.is(r.status, "done", r.error ? `${r.error.code}: ${r.error.message}` : undefined);
  t.is(r.error, undefined);
  t.is(r.pageCount, n);
  t.deepEqual(
    r.pages.map((p) => p.page),
    Array.from({ length: n }, (_, i) => i + 1),
    "pages 1..n in order",
  );
  for (const p of r.pages) {
    const lines = doc.pages[p.page - 1]!;
    t.is(p.text.split("\n")[0], firstLine(doc, p.page), `page ${p.page} starts with its first line`);
    t.deepEqual(
      p.text.split("\n").map((l) => l.trim()),
      lines,
      `page ${p.page} has exactly its lines`,
    );
    t.is(p.chars, p.text.length, `page ${p.page} chars`);
    t.is(p.words, words(p.text), `page ${p.page} words`);
    t.is(p.words, words(lines.join(" ")), `page ${p.page} words of the known text`);
  }
  t.is(r.meta?.title, doc.title);
  t.is(r.meta?.author, doc.author);
  t.is(r.meta?.pageCount, n);
  t.true(r.chunks >= 1);
  t.true(r.timings.finishedAt >= r.timings.submittedAt);
  return r;
}

/** A `failed` result with a stable code and a message matching `message`. */
export function assertFailed(
  t: ExecutionContext,
  result: unknown,
  docId: string,
  code: ErrorCode,
  message: RegExp,
): FinalResult {
  const parsed = FinalResult.safeParse(result);
  if (!parsed.success) {
    t.fail(`not a FinalResult: ${parsed.error.message}`);
    throw parsed.error;
  }
  const r = parsed.data;
  t.is(r.docId, docId);
  t.is(r.status, "failed");
  t.is(r.error?.code, code, r.error?.message);
  t.regex(r.error?.message ?? "", message);
  t.false(r.error?.retryable ?? true, "bad input is not retryable");
  t.deepEqual(r.pages, []);
  return r;
}
