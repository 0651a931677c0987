// The decompression cap (agents/pdf/inflate-guard.ts) counts every filter an engine runs for text,
// not only Flate: an LZW bomb (LZW's worst case, ~2,560x: 1 GiB from 413 KB; unguarded, PDFium went to
// +945 MB of RSS on a 512 MiB one and aborted, pdf.js to +1.1 GB), a Flate bomb behind ASCII85 (the
// ASCII85 text does not inflate as it stands), run-length, and layered filters. Ordinary documents
// with those filters are counted exactly and read by both engines.
import { deflateSync } from "node:zlib";
import test from "ava";
import { StageError } from "../agents/errors.ts";
import { chooseEngine, ENGINE_BY_NAME } from "../agents/pdf/engines.ts";
import { checkInflatedSize, DecodedSizes } from "../agents/pdf/inflate-guard.ts";
import { lzwDecode } from "../agents/pdf/stream-filters.ts";
import {
  ascii85Encode,
  filteredPagePdf,
  lzwBomb,
  lzwEncode,
  paddedContent,
  streamPagePdf,
} from "./support/hostile-pdfs.ts";
import { rng } from "./support/pdf.ts";

const MiB = 1024 * 1024;
const LIMIT = 16 * MiB;

function refused(
  t: import("ava").ExecutionContext,
  pdf: Uint8Array,
  limit = LIMIT,
  known?: DecodedSizes,
): void {
  const err = t.throws(() => checkInflatedSize(pdf, limit, known));
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

test("bytes this host checked under a cap no higher than the agent's own are not checked again", async (t) => {
  const engine = chooseEngine({ preferred: "pdfium", maxInflatedBytes: LIMIT });
  t.is(engine.maxInflatedBytes, LIMIT);
  // Decompresses past the cap, but an open reads no content stream: it opens when not checked.
  const bomb = filteredPagePdf("/FlateDecode", deflateSync(new Uint8Array(LIMIT + MiB).fill(0x20)));
  const code = (err: unknown) => (err as StageError).code;
  t.is(code(await t.throwsAsync(engine.open(bomb))), "PDF_RESOURCE_LIMIT");
  // Checked under a higher cap than this agent's: checked again, and refused.
  t.is(code(await t.throwsAsync(engine.open(bomb, { inflateChecked: 2 * LIMIT }))), "PDF_RESOURCE_LIMIT");
  const doc = await engine.open(bomb, { inflateChecked: LIMIT });
  t.is(doc.pageCount, 1);
  await doc.close();
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
    t.is(checkInflatedSize(pdf, content.length + 1024).decodedBytes, content.length, filter);
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

test("a document whose streams cannot reach the cap at their worst ratios is not decoded", (t) => {
  const content = paddedContent("Hello under the bound", 200_000);
  const pdf = filteredPagePdf("/FlateDecode", deflateSync(content));
  // The one stream's bound: its size times deflate's 1032. Under the cap, nothing is decoded.
  const cheap = checkInflatedSize(pdf, LIMIT);
  t.true(cheap.bound > content.length && cheap.bound <= LIMIT, `bound ${cheap.bound}`);
  t.deepEqual(cheap, { bound: cheap.bound, decodedBytes: 0, decodedStreams: 0, knownStreams: 0 });
  // A cap under the bound: the stream is decoded and counted exactly.
  const exact = checkInflatedSize(pdf, cheap.bound - 1);
  t.is(exact.decodedStreams, 1);
  t.is(exact.decodedBytes, content.length);
  // A bomb's bound is above the cap: it is decoded (to the cap) and refused.
  const bomb = filteredPagePdf(
    "/FlateDecode",
    deflateSync(new Uint8Array(LIMIT + MiB).fill(0x20), { level: 9 }),
  );
  t.true(checkInflatedSize(filteredPagePdf("/FlateDecode", new Uint8Array(10)), LIMIT).bound < LIMIT);
  refused(t, bomb);
});

test("a stream's size is remembered by its bytes: the same font or bomb is not decoded again", (t) => {
  const known = new DecodedSizes();
  // Letters at random: the stream's bound (its size x 1032) is far above the cap, its size under it.
  const random = rng(3);
  const content = paddedContent("Hello again", 300_000).map((b, i) =>
    i > 64 ? 0x41 + Math.floor(random() * 16) : b,
  );
  const encoded = deflateSync(content);
  const first = checkInflatedSize(filteredPagePdf("/FlateDecode", encoded), 1024 * 1024, known);
  t.like(first, { decodedStreams: 1, knownStreams: 0, decodedBytes: content.length });
  // Another document with the same stream: its size is known.
  const other = streamPagePdf("/Filter /FlateDecode /Note (another file)", encoded);
  t.like(checkInflatedSize(other, 1024 * 1024, known), {
    decodedStreams: 0,
    knownStreams: 1,
    decodedBytes: content.length,
  });
  // The same bytes through other filters are other streams.
  const layered = filteredPagePdf("[/FlateDecode /FlateDecode]", deflateSync(encoded));
  t.like(checkInflatedSize(layered, 1024 * 1024, known), { decodedStreams: 1, knownStreams: 0 });
  // A bomb refused once is refused again from what was remembered (no decode), and a smaller cap
  // than the one it was decoded against still refuses it.
  const bomb = filteredPagePdf(
    "/FlateDecode",
    deflateSync(new Uint8Array(LIMIT + MiB).fill(0x20), { level: 9 }),
  );
  refused(t, bomb, LIMIT, known);
  const hits = known.hits;
  refused(t, bomb, LIMIT, known);
  refused(t, bomb, LIMIT / 2, known);
  t.is(known.hits, hits + 2);
  // Under a larger cap it passes (a bomb of deflate's best ratio: its bound alone clears it).
  t.like(checkInflatedSize(bomb, 2 * LIMIT, known), { decodedStreams: 0, knownStreams: 0 });
});

test("filters are read as the engines read them: escaped names, comments, indirect values, objects defined twice", async (t) => {
  const deflated = deflateSync(new Uint8Array(LIMIT + MiB).fill(0x20), { level: 9 });
  const lzw = lzwBomb(LIMIT + MiB);
  const cases: Array<[string, Uint8Array]> = [
    ["escaped name", streamPagePdf("/Filter /#46lateDecode", deflated)],
    ["escaped key", streamPagePdf("/Fil#74er /FlateDecode", deflated)],
    ["comment", streamPagePdf("/Filter %/ASCIIHexDecode\n/FlateDecode", deflated)],
    ["indirect name", streamPagePdf("/Filter 6 0 R", deflated, ["/FlateDecode"])],
    ["indirect array", streamPagePdf("/Filter 6 0 R", deflated, ["[7 0 R]", "/FlateDecode"])],
    ["written twice", streamPagePdf("/Filter /ASCIIHexDecode /Filter /FlateDecode", deflated)],
    ["a string holding stream", streamPagePdf("/Note (stream >> endstream) /Filter /FlateDecode", deflated)],
    ["escaped LZW", streamPagePdf("/Filter /LZ#57Decode", lzw)],
    [
      "LZW, EarlyChange in an array",
      streamPagePdf("/Filter [/LZWDecode] /DecodeParms [<< /EarlyChange 1 >>]", lzw),
    ],
  ];
  for (const [name, pdf] of cases) {
    const err = t.throws(() => checkInflatedSize(pdf, LIMIT), undefined, name);
    t.is((err as StageError).code, "PDF_RESOURCE_LIMIT", name);
  }
  // An object defined again later in the file (as an update does): each definition is counted,
  // whichever one an engine's cross-reference table points at.
  const bomb = streamPagePdf("/Filter /FlateDecode", deflated);
  const redefined = Buffer.concat([
    bomb,
    Buffer.from("4 0 obj\n<< /Length 5 >>\nstream\nhello\nendstream\nendobj\n"),
  ]);
  refused(t, redefined);
  // What the cases spell is what the engines decode: the same spellings of an ordinary stream read.
  const content = paddedContent("Hello spelled otherwise", 1000);
  for (const [dict, extra] of [
    ["/Fil#74er /#46lateDecode", []],
    ["/Filter 6 0 R %c\n", ["[/FlateDecode]"]],
  ] as Array<[string, string[]]>) {
    const pdf = streamPagePdf(dict, deflateSync(content), extra);
    t.is(checkInflatedSize(pdf, content.length + 10).decodedBytes, content.length, dict);
    for (const engine of ["pdfium", "pdfjs"] as const) {
      const doc = await ENGINE_BY_NAME[engine].open(pdf);
      t.regex(await doc.pageText(1), /Hello spelled otherwise/, `${engine} ${dict}`);
      await doc.close();
    }
  }
});

test("a /Filter naming an object the scan cannot read is refused only where an object stream could hold it", (t) => {
  const content = deflateSync(paddedContent("Hello", 1000));
  // No object streams: a reference to nothing is null to the engines, and nothing to decode here.
  t.is(checkInflatedSize(streamPagePdf("/Filter 9 0 R", content), 10).decodedStreams, 0);
  const packed = "<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length 3 >>\nstream\nabc\nendstream";
  const err = t.throws(() => checkInflatedSize(streamPagePdf("/Filter 9 0 R", content, [packed]), LIMIT));
  t.is((err as StageError).code, "PDF_RESOURCE_LIMIT");
});
