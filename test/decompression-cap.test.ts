// The decompression cap (agents/pdf/inflate-guard.ts) counts every filter an engine runs for text,
// not only Flate: an LZW bomb (LZW's worst case, ~2,560x: 1 GiB from 413 KB; unguarded, PDFium went to
// +945 MB of RSS on a 512 MiB one and aborted, pdf.js to +1.1 GB), a Flate bomb behind ASCII85 (the
// ASCII85 text does not inflate as it stands), run-length, and layered filters. Ordinary documents
// with those filters are counted exactly and read by both engines.
import { deflateSync } from "node:zlib";
import test from "ava";
import { StageError } from "../agents/errors.ts";
import { ENGINE_BY_NAME } from "../agents/pdf/engines.ts";
import { checkInflatedSize } from "../agents/pdf/inflate-guard.ts";
import { lzwDecode } from "../agents/pdf/stream-filters.ts";
import { ascii85Encode, filteredPagePdf, lzwBomb, lzwEncode, paddedContent } from "./support/hostile-pdfs.ts";
import { rng } from "./support/pdf.ts";

const MiB = 1024 * 1024;
const LIMIT = 16 * MiB;

function refused(t: import("ava").ExecutionContext, pdf: Uint8Array, limit = LIMIT): void {
  const err = t.throws(() => checkInflatedSize(pdf, limit));
  t.true(err instanceof StageError);
  t.is((err as StageError).code, "PDF_RESOURCE_LIMIT");
}

/** Run-length data for `bytes` spaces: 2 bytes per 128. */
function runLengthBomb(bytes: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes / 128) * 2 + 1);
  for (let i = 0; i + 1 < out.length; i += 2) {
    out[i] = 129; // repeat the next byte 257 - 129 = 128 times
    out[i + 1] = 0x20;
  }
  out[out.length - 1] = 128;
  return out;
}

test("an LZW bomb is refused with PDF_RESOURCE_LIMIT", (t) => {
  const codes = lzwBomb(1024 * MiB);
  t.true(codes.length < 450 * 1024, `${codes.length} bytes of codes`);
  const pdf = filteredPagePdf("/LZWDecode", codes);
  refused(t, pdf);
  // Abbreviated filter names and arrays are read too.
  refused(t, filteredPagePdf("[/LZW]", codes));
});

test("a deflate bomb behind ASCII85, deflate behind LZW, and run-length are refused", (t) => {
  const spaces = new Uint8Array(LIMIT + MiB).fill(0x20);
  const deflated = deflateSync(spaces, { level: 9 });
  refused(t, filteredPagePdf("[/ASCII85Decode /FlateDecode]", ascii85Encode(deflated)));
  refused(t, filteredPagePdf("[/A85 /Fl]", ascii85Encode(deflated)));
  refused(t, filteredPagePdf("[/LZWDecode /FlateDecode]", lzwEncode(deflated)));
  refused(t, filteredPagePdf("/RunLengthDecode", runLengthBomb(LIMIT + MiB)));
});

test("documents with LZW, ASCII85 and run-length streams under the cap are counted exactly and read", async (t) => {
  const content = paddedContent("Hello through the filters", 300_000);
  const runs = new Uint8Array(Math.ceil(content.length / 128) * 129 + 1);
  let n = 0;
  for (let i = 0; i < content.length; i += 128) {
    const chunk = content.subarray(i, i + 128);
    runs[n++] = chunk.length - 1; // copy the next chunk.length bytes
    runs.set(chunk, n);
    n += chunk.length;
  }
  runs[n++] = 128;
  const cases: Array<[string, Uint8Array]> = [
    ["/LZWDecode", lzwEncode(content)],
    ["[/ASCII85Decode /FlateDecode]", ascii85Encode(deflateSync(content))],
    ["[/ASCII85Decode /LZWDecode]", ascii85Encode(lzwEncode(content))],
    ["/RunLengthDecode", runs.subarray(0, n)],
  ];
  for (const [filter, encoded] of cases) {
    const pdf = filteredPagePdf(filter, encoded);
    // A cap small enough that the stream must be decoded to be judged, large enough for it.
    t.is(checkInflatedSize(pdf, content.length + 1024), content.length, filter);
    refused(t, pdf, content.length - 1);
    for (const engine of ["pdfium", "pdfjs"] as const) {
      const doc = await ENGINE_BY_NAME[engine].open(pdf);
      t.regex(await doc.pageText(1), /Hello through the filters/, `${engine} ${filter}`);
      await doc.close();
    }
  }
});

test("the LZW decoder round-trips what the encoder writes, across table resets", (t) => {
  const random = rng(7);
  const noise = new Uint8Array(300_000).map(() => Math.floor(random() * 16));
  for (const data of [
    noise,
    new Uint8Array(3 * MiB).fill(0x41),
    new TextEncoder().encode("a"),
    new Uint8Array(0),
  ]) {
    const decoded = lzwDecode(lzwEncode(data), data.length + 1);
    t.deepEqual(decoded === "over" ? decoded : Buffer.from(decoded), Buffer.from(data));
  }
  t.is(lzwDecode(lzwEncode(new Uint8Array(1000).fill(1)), 999), "over");
});
