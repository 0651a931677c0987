// The engine chain page by page, on real engines: when the preferred engine returns no text for a
// page that has text objects, the other engine reads that page and the page says so; a page with no
// text objects (blank, scanned) does not wake the other engine; a page the preferred engine fails on
// is read by the other.
import test from "ava";
import { StageError } from "../agents/errors.ts";
import type { PdfDocument, PdfEngine } from "../agents/pdf/engine.ts";
import { ENGINE_BY_NAME } from "../agents/pdf/engines.ts";
import { extractPages } from "../agents/pdf/extract-pages.ts";
import { withFallback } from "../agents/pdf/fallback.ts";
import { knownDoc } from "./support/pdf.ts";

/** PDFium, except that it "loses" the text of `silent` pages and fails on `failing` ones. */
function lossyPdfium(silent: number[], failing: number[], showsText: boolean): PdfEngine {
  return {
    name: "pdfium",
    async open(bytes, options) {
      const doc = await ENGINE_BY_NAME.pdfium.open(bytes, options);
      const lossy: PdfDocument = Object.create(doc);
      lossy.pageText = async (p) => {
        if (failing.includes(p)) throw new StageError("PDF_PAGE_CORRUPT", `page ${p} failed`);
        return silent.includes(p) ? "" : doc.pageText(p);
      };
      lossy.showsText = async () => showsText;
      return lossy;
    },
  };
}

function countingPdfjs(opened: { count: number }): PdfEngine {
  return {
    name: "pdfjs",
    async open(bytes, options) {
      opened.count++;
      return ENGINE_BY_NAME.pdfjs.open(bytes, options);
    },
  };
}

test("pages the preferred engine gets no text from, or fails on, come from the other engine", async (t) => {
  const known = await knownDoc("fb", 4);
  const opened = { count: 0 };
  const chain = withFallback(lossyPdfium([2], [4], true), countingPdfjs(opened));
  const doc = await chain.open(known.bytes);
  t.teardown(() => doc.close());
  const { pages, warnings } = await extractPages(doc, { firstPage: 1, lastPage: 4 });
  t.deepEqual(
    pages.map((p) => p.engine),
    ["pdfium", "pdfjs", "pdfium", "pdfjs"],
  );
  for (const p of pages) t.true(p.text.startsWith(`Page ${p.page} of ${known.docId}`), `page ${p.page}`);
  t.is(opened.count, 1, "the other engine opened once, when first needed");
  t.deepEqual(warnings.find((w) => w.code === "PDF_ENGINE_FALLBACK")?.pages, [2, 4]);
});

test("an empty page without text objects stays empty and does not open the other engine", async (t) => {
  const known = await knownDoc("fb-blank", 2);
  const opened = { count: 0 };
  const chain = withFallback(lossyPdfium([1, 2], [], false), countingPdfjs(opened));
  const doc = await chain.open(known.bytes);
  t.teardown(() => doc.close());
  const { pages, warnings } = await extractPages(doc, { firstPage: 1, lastPage: 2 });
  t.deepEqual(
    pages.map((p) => [p.text, p.engine]),
    [
      ["", "pdfium"],
      ["", "pdfium"],
    ],
  );
  t.is(opened.count, 0);
  t.deepEqual(warnings, []);
});
