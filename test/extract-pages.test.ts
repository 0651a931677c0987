// extractPages: the page loop every extracting task runs, on a real pdf.js document.
import test from "ava";
import { extractPages } from "../agents/pdf/extract-pages.ts";
import { pdfjsEngine } from "../agents/pdf/pdfjs-engine.ts";
import { knownDoc } from "./support/pdf.ts";

test("extractPages returns the range's pages in order with statistics, and no warnings", async (t) => {
  const known = await knownDoc("xp", 5);
  const doc = await pdfjsEngine.open(known.bytes);
  t.teardown(() => doc.close());
  const out = await extractPages(doc, { firstPage: 2, lastPage: 4 });
  t.deepEqual(
    out.pages.map((p) => p.page),
    [2, 3, 4],
  );
  for (const p of out.pages) {
    t.true(p.text.startsWith(`Page ${p.page} of ${known.docId}`), p.text.slice(0, 40));
    t.is(p.chars, p.text.length);
    t.true(p.words > 10);
  }
  t.deepEqual(out.warnings, []);
});

test("extractPages stops with a retryable TASK_TIMEOUT once the signal is aborted", async (t) => {
  const known = await knownDoc("xp-abort", 2);
  const doc = await pdfjsEngine.open(known.bytes);
  t.teardown(() => doc.close());
  const ac = new AbortController();
  ac.abort();
  const err = await t.throwsAsync(extractPages(doc, { firstPage: 1, lastPage: 2 }, ac.signal));
  t.like(err, { code: "TASK_TIMEOUT", retryable: true });
});
