// A cap on what a document may decompress to, checked before any engine sees it: both engines decode
// a content stream whole, into memory V8's heap limit does not cover (typed arrays; PDFium's
// WebAssembly heap), so a 1 MB file that inflates to 1 GB took an agent thread to 1.3-2.6 GB of RSS
// and aborted PDFium. Streams an engine may decode for text (content streams, forms, fonts, object
// streams; images are never decoded for text) are decoded here through their filter chains
// (agents/pdf/stream-filters.ts), each decode capped by what is left of the document's budget, the
// output dropped at once.
//
// Cheap for ordinary documents: deflate cannot expand data more than ~1032 times, so a file that
// only uses Flate, one layer per stream, and whose size × 1032 fits the budget cannot exceed it and
// is not decoded at all (most small documents). Otherwise each stream's bound is its size times its
// filters' worst ratios (LZW ~1400, layers multiply); the streams with the largest bounds are decoded
// first, and the scan stops as soon as what is left could not reach the budget even at its bounds.
import { StageError } from "../errors.ts";
import { body, indexObjects, nextStart, streamLength } from "./content-size.ts";
import { decode, type Filter, filtersOf, MAX_RATIO, needsScan } from "./stream-filters.ts";

type Candidate = {
  num: number;
  data: Uint8Array;
  dict: string;
  filters: Array<Filter | undefined>;
  /** The most it can decode to: its size times each filter's worst ratio. */
  bound: number;
};

function candidates(bytes: Uint8Array): Candidate[] {
  const o = indexObjects(bytes);
  const out: Candidate[] = [];
  for (const [num, at] of o.direct) {
    const dict = body(o, num);
    if (!dict || /\/Subtype\s*\/Image\b/.test(dict)) continue;
    const filters = filtersOf(dict);
    if (!filters.some((f) => f && MAX_RATIO[f] > 1)) continue;
    const start = at + dict.length;
    if (!o.text.startsWith("stream", start)) continue;
    let dataAt = start + 6;
    if (o.text[dataAt] === "\r") dataAt++;
    if (o.text[dataAt] === "\n") dataAt++;
    // Engines trust "endstream" over a wrong /Length: so does the count (searched up to the next
    // object only, so the scan stays linear in the file).
    const objectEnd = nextStart(o.starts, at) ?? o.text.length;
    const endstream = o.text.slice(dataAt, objectEnd).indexOf("endstream");
    const end = Math.max(dataAt + (streamLength(o, num) ?? 0), endstream < 0 ? 0 : dataAt + endstream);
    const data = bytes.subarray(dataAt, Math.min(bytes.length, end));
    let bound = data.length;
    for (const f of filters) {
      if (!f) break;
      bound *= MAX_RATIO[f];
    }
    out.push({ num, dict, filters, data, bound });
  }
  return out;
}

/**
 * Throws PDF_RESOURCE_LIMIT when the document's streams (images aside) decode to more than `limit`
 * bytes in all, through every filter in their chains (Flate, LZW, ASCII85, ASCIIHex, RunLength, in
 * layers too); returns the bytes they decoded to. Corrupt streams count what they decode to before the
 * damage; a chain stops at a filter not decoded here (image codecs), counting what came before it.
 */
export function checkInflatedSize(bytes: Uint8Array, limit: number): number {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!needsScan(text) && bytes.length * MAX_RATIO.flate <= limit) return 0;
  const streams = candidates(bytes).sort((a, b) => b.bound - a.bound);
  let left = streams.reduce((n, s) => n + s.bound, 0);
  let total = 0;
  for (const s of streams) {
    if (total + left <= limit) break;
    left -= s.bound;
    let data: Uint8Array = s.data;
    let over = false;
    for (const filter of s.filters) {
      if (!filter) break;
      const decoded = decode(filter, data, limit - total, s.dict);
      if (decoded === "over") {
        over = true;
        break;
      }
      data = decoded;
    }
    if (data !== s.data) total += data.length;
    if (over || total > limit) {
      throw new StageError(
        "PDF_RESOURCE_LIMIT",
        `the document decompresses to more than ${limit} bytes (object ${s.num}): refused as a decompression bomb (maxInflatedBytes)`,
      );
    }
  }
  return total;
}
