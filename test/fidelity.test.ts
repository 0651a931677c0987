// Fidelity: every document of the fidelity corpus (bench/corpora/fidelity.ts) gives back its
// expected text through each engine alone and through the default chain (engine + fallback), with
// the warnings and page errors it must carry. pdftotext is the oracle of the bench's figure; here
// the expected text itself is.
import test from "ava";
import { chooseEngine, ENGINE_BY_NAME } from "../agents/pdf/engines.ts";
import { extractPages } from "../agents/pdf/extract-pages.ts";
import { fidelityCorpus, missingLines } from "../bench/corpora/fidelity.ts";
import { ENGINES } from "../schemas/index.ts";

const corpus = await fidelityCorpus();
const readers = {
  ...Object.fromEntries(ENGINES.map((e) => [e, ENGINE_BY_NAME[e]])),
  "default chain": chooseEngine(),
};
// What one engine alone cannot do (the chain covers both with the other engine): PDFium refuses a
// file without a %PDF- header; pdf.js numbers only the page-tree leaves it can read, so a broken
// page hides the pages after it.
const ALONE_CANNOT: Record<string, string[]> = { pdfium: ["no-header"], pdfjs: ["broken-page"] };

for (const doc of corpus) {
  for (const [reader, engine] of Object.entries(readers)) {
    if (ALONE_CANNOT[reader]?.includes(doc.name)) continue;
    test(`${doc.name} through ${reader}: expected text, warnings and page errors`, async (t) => {
      const opened = await engine.open(doc.bytes, doc.password ? { password: doc.password } : {});
      t.teardown(() => opened.close());
      const { pages, warnings } = await extractPages(opened, { firstPage: 1, lastPage: opened.pageCount });
      const text = pages.map((p) => p.text).join("\n");
      t.deepEqual(missingLines(doc, text), [], `${opened.engine}: ${text.slice(0, 300)}`);
      for (const code of doc.warnings ?? [])
        t.true(
          warnings.some((w) => w.code === code),
          `warning ${code}`,
        );
      if (!doc.warnings && !doc.password)
        t.deepEqual(
          warnings.map((w) => w.code),
          [],
        );
      const broken = pages.filter((p) => p.error).map((p) => p.page);
      t.deepEqual(broken, doc.brokenPages ?? []);
      for (const p of pages) t.truthy(p.engine);
    });
  }
}

test("without its CMap data pdf.js drops the non-embedded CJK text the configured engine reads", async (t) => {
  // The finding of issue 12, kept honest: the same document with pdf.js's defaults in Node.
  const { loadPdfJs } = await import("../agents/pdf/pdfjs-engine.ts");
  const pdfjs = await loadPdfJs();
  const doc = corpus.find((d) => d.name === "ja-cmap")!;
  const task = pdfjs.getDocument({ data: new Uint8Array(doc.bytes), verbosity: 0 });
  t.teardown(() => task.destroy());
  const page = await (await task.promise).getPage(1);
  const items = (await page.getTextContent()).items as Array<{ str?: string }>;
  const text = items.map((i) => i.str ?? "").join("");
  t.true(
    missingLines(doc, text).length === doc.expected.length,
    `pdf.js without cMapUrl read: ${text.slice(0, 80)}`,
  );
});
