// A cap on what a document may decompress to, checked before any engine sees it: both engines decode
// a content stream whole, into memory V8's heap limit does not cover (typed arrays; PDFium's
// WebAssembly heap), so a 1 MB file that inflates to 1 GB took an agent thread to 1.3-2.6 GB of RSS
// and aborted PDFium. Flate streams an engine may decode for text (content streams, forms, fonts,
// object streams; images are never decoded for text) are inflated here, each inflate capped by what
// is left of the document's budget, the output dropped at once.
//
// Cheap for ordinary documents: deflate cannot expand data more than ~1032 times, so a file whose
// Flate data × 1032 fits the budget cannot exceed it and is not inflated at all (most small
// documents); otherwise the largest streams are inflated first, and the scan stops as soon as what
// is left could not reach the budget even at that ratio.
import { constants, inflateSync } from "node:zlib";
import { StageError } from "../errors.ts";
import { body, indexObjects, nextStart, streamLength } from "./content-size.ts";

/** zlib's worst case: 258-byte matches coded in ~2 bits, plus headers. */
const MAX_DEFLATE_RATIO = 1032;

type Candidate = { num: number; data: Uint8Array; flates: number };

function candidates(bytes: Uint8Array): Candidate[] {
  const o = indexObjects(bytes);
  const out: Candidate[] = [];
  for (const [num, at] of o.direct) {
    const dict = body(o, num);
    if (!dict?.includes("/FlateDecode") || /\/Subtype\s*\/Image\b/.test(dict)) continue;
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
    // /Filter [/FlateDecode /FlateDecode]: each layer multiplies the ratio, so each is inflated.
    const flates =
      (/\/Filter\s*\[([^\]]{0,512})\]/.exec(dict)?.[1] ?? "/FlateDecode").split("/FlateDecode").length - 1;
    out.push({ num, data: bytes.subarray(dataAt, Math.min(bytes.length, end)), flates: Math.max(1, flates) });
  }
  return out;
}

/**
 * Throws PDF_RESOURCE_LIMIT when the document's Flate streams (images aside) inflate to more than
 * `limit` bytes in all; returns the bytes it inflated. Corrupt streams count what they inflate to
 * before the damage.
 */
export function checkInflatedSize(bytes: Uint8Array, limit: number): number {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const layered = text.includes("/FlateDecode /FlateDecode") || text.includes("/FlateDecode/FlateDecode");
  if (!layered && bytes.length * MAX_DEFLATE_RATIO <= limit) return 0;
  const streams = candidates(bytes).sort((a, b) => b.data.length - a.data.length);
  let left = streams.reduce((n, s) => n + s.data.length, 0);
  let total = 0;
  for (const s of streams) {
    if (!layered && total + left * MAX_DEFLATE_RATIO <= limit) break;
    left -= s.data.length;
    let data: Uint8Array = s.data;
    for (let layer = 0; layer < s.flates; layer++) {
      try {
        data = inflateSync(data, {
          maxOutputLength: Math.max(1, limit - total + 1),
          finishFlush: constants.Z_SYNC_FLUSH,
        });
      } catch (err) {
        if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") total = limit + 1;
        break; // else corrupt: the engines decide what to make of it
      }
      if (layer === s.flates - 1) total += data.length;
    }
    if (total > limit) {
      throw new StageError(
        "PDF_RESOURCE_LIMIT",
        `the document decompresses to more than ${limit} bytes (object ${s.num}): refused as a decompression bomb (maxInflatedBytes)`,
      );
    }
  }
  return total;
}
