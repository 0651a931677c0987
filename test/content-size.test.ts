// Split's page-cost scan reads untrusted bytes: it must stay linear in the file's size. The old
// object regex backtracked over long digit runs (quadratic: a 400 KB file with 20,000-digit runs took
// 22 s). This file holds 2 MB of such runs: quadratic scanning would not finish within the test's
// time limit; the linear scanner reads it in milliseconds. No timing is asserted.
import test from "ava";
import { PDFArray, PDFDocument, PDFName, StandardFonts } from "pdf-lib";
import {
  contentSizes,
  indexObjects,
  pageContentSizes,
  pageObjectNumbers,
} from "../agents/pdf/content-size.ts";

async function digitRunPdf(): Promise<{ bytes: Uint8Array; pages: number[] }> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (let i = 0; i < 3; i++) {
    const page = doc.addPage();
    page.drawText(`page ${i + 1}`, { x: 50, y: 700, size: 12, font });
  }
  // Page 2 gets a second content stream: 10 comment lines of 200,000 digits, and digits-space runs
  // that look like the start of "<num> <gen> obj" without ever ending in it.
  const runs = Array.from({ length: 10 }, (_, i) => `% ${String(i).repeat(200_000)}\n`).join("");
  const near = `% ${"12345 67890 ".repeat(20_000)}ob\n`;
  const extra = doc.context.register(doc.context.stream(`${runs}${near}`));
  doc.getPage(1).node.lookup(PDFName.of("Contents"), PDFArray).push(extra);
  const bytes = await doc.save({ useObjectStreams: false });
  return { bytes, pages: doc.getPages().map((p) => p.ref.objectNumber) };
}

test("the object scan is linear: a file full of long digit runs is sized at once", async (t) => {
  const { bytes, pages } = await digitRunPdf();
  t.true(bytes.length > 2_000_000, `${bytes.length} bytes`);
  const started = performance.now();
  const sizes = contentSizes(bytes, pages);
  t.log(`${bytes.length} bytes sized in ${(performance.now() - started).toFixed(1)} ms: ${sizes}`);
  t.truthy(sizes);
  t.is(sizes!.length, 3);
  t.true(sizes![1]! > 2_000_000 && sizes![0]! < 1000 && sizes![2]! < 1000, JSON.stringify(sizes));
});

test("the object scan finds '<num> <gen> obj' headers and nothing else", (t) => {
  const text = "%PDF-1.7\n1 0 obj\n<<>>\nendobj\n12 3 obj<<>>endobj 99999999999 0 obj x 4 0 objstm 5\n0\nobj";
  const o = indexObjects(new TextEncoder().encode(text));
  t.deepEqual(
    [...o.direct.keys()].sort((a, b) => a - b),
    [1, 5, 12],
  );
});

test("page costs from one scan of the file equal the page tree's pages sized one by one", async (t) => {
  for (const useObjectStreams of [false, true]) {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    for (let i = 0; i < 5; i++)
      doc.addPage().drawText("x".repeat(10 + 200 * i), { x: 20, y: 700, size: 6, font });
    const bytes = await doc.save({ useObjectStreams });
    const pages = pageObjectNumbers(bytes, 5);
    t.truthy(pages, `page tree read (object streams: ${useObjectStreams})`);
    const sizes = pageContentSizes(bytes, 5);
    t.deepEqual(sizes, contentSizes(bytes, pages!));
    t.is(sizes?.length, 5);
    t.true(
      sizes!.every((n, i) => i === 0 || n > sizes![i - 1]!),
      JSON.stringify(sizes),
    );
  }
});
