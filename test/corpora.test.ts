// The realistic corpus builders (bench/corpora/): deterministic, and what they say they built is
// what poppler reads (page count, text present), for every kind of document.
import { execFileSync } from "node:child_process";
import test from "ava";
import {
  cjkEmbedded,
  cjkNonEmbedded,
  form,
  invoice,
  letter,
  manual,
  report,
} from "../bench/corpora/documents.ts";
import { rng } from "./support/pdf.ts";

function poppler(bytes: Uint8Array): { pages: number; text: string } {
  const info = execFileSync("pdfinfo", ["-"], { input: bytes, encoding: "utf8" });
  const text = execFileSync("pdftotext", ["-q", "-", "-"], { input: bytes, encoding: "utf8" });
  return { pages: Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]), text };
}

const builders = {
  letter,
  invoice,
  form,
  report,
  manual: (r: () => number, n: string) => manual(r, n, 6),
  "ja-embedded": (r: () => number, n: string) => cjkEmbedded(r, n, "ja", 1),
  "zh-embedded": (r: () => number, n: string) => cjkEmbedded(r, n, "zh", 1),
  "ja-cmap": (r: () => number, n: string) => cjkNonEmbedded(r, n, "ja", 1),
  "zh-cmap": (r: () => number, n: string) => cjkNonEmbedded(r, n, "zh", 2),
};

for (const [kind, build] of Object.entries(builders)) {
  test(`corpus ${kind}: deterministic, and poppler reads its pages and text`, async (t) => {
    const a = await build(rng(42), `t-${kind}`);
    const b = await build(rng(42), `t-${kind}`);
    t.deepEqual(Buffer.from(a.bytes), Buffer.from(b.bytes), "same seed, same bytes");
    const read = poppler(a.bytes);
    t.is(read.pages, a.pages);
    const chars = read.text.replace(/\s/g, "").length;
    t.true(chars > 300 * a.pages, `${chars} characters on ${a.pages} pages`);
    if (kind.startsWith("ja")) t.regex(read.text, /[\u3040-\u30ff]/, "kana");
    if (kind.startsWith("zh")) t.regex(read.text, /[\u4e00-\u9fff]/, "hanzi");
  });
}

test("corpus manual: chapters run to at least the pages asked for", async (t) => {
  const m = await manual(rng(3), "m", 12);
  t.true(m.pages >= 12, `${m.pages}`);
  t.regex(poppler(m.bytes).text, /Chapter 2\./);
});
