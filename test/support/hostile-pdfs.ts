// Hostile PDFs built byte by byte: encrypted, self-referencing, and a small file whose one content
// stream inflates to millions of text operators, on which pdf.js spins for seconds to minutes.
import { deflateSync } from "node:zlib";

const encoder = new TextEncoder();

/** A PDF from object bodies (object n is objects[n-1]), with a correct xref table. */
export function rawPdf(objects: Array<string | Uint8Array>, trailerExtra = ""): Uint8Array {
  const parts: Uint8Array[] = [];
  let length = 0;
  const push = (p: string | Uint8Array) => {
    const b = typeof p === "string" ? encoder.encode(p) : p;
    parts.push(b);
    length += b.length;
  };
  push("%PDF-1.7\n");
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(length);
    push(`${i + 1} 0 obj\n`);
    push(body);
    push("\nendobj\n");
  });
  const xref = length;
  push(`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`);
  for (const o of offsets) push(`${String(o).padStart(10, "0")} 00000 n \n`);
  push(`trailer\n<< /Size ${objects.length + 1} /Root 1 0 R ${trailerExtra}>>\nstartxref\n${xref}\n%%EOF\n`);
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function stream(dict: string, data: Uint8Array): Uint8Array {
  const head = encoder.encode(`<< ${dict} /Length ${data.length} >>\nstream\n`);
  const tail = encoder.encode("\nendstream");
  const out = new Uint8Array(head.length + data.length + tail.length);
  out.set(head);
  out.set(data, head.length);
  out.set(tail, head.length + data.length);
  return out;
}

const catalog = "<< /Type /Catalog /Pages 2 0 R >>";
const font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";

/**
 * One page whose content stream (FlateDecode, a few KB per million operators) holds `operators`
 * text-show operators. pdf.js's text extraction is superlinear on it: about 1 s for 1 million and
 * 30 s for 20 million on this project's machine, growing to hundreds of MB.
 */
export function textBombPdf(operators: number): Uint8Array {
  const content = Buffer.from(`BT /F1 12 Tf 10 10 Td ${"(a) Tj ".repeat(operators)} ET`);
  return rawPdf([
    catalog,
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    stream("/Filter /FlateDecode", new Uint8Array(deflateSync(content, { level: 9 }))),
    font,
  ]);
}

/** A page tree whose Pages node lists itself among its kids. */
export function cyclicPageTreePdf(): Uint8Array {
  return rawPdf([
    catalog,
    "<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 5 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>",
  ]);
}

/** A page whose dictionary nests arrays 200,000 deep (a recursive parser's stack overflow). */
export function deeplyNestedPdf(): Uint8Array {
  return rawPdf([
    catalog,
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] /X ${"[".repeat(200_000)}${"]".repeat(200_000)} >>`,
  ]);
}

/** Standard security handler, RC4 40-bit, with a user password that is not empty. */
export function encryptedPdf(): Uint8Array {
  const hex32 = "9a".repeat(32);
  return rawPdf(
    [
      catalog,
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>",
      `<< /Filter /Standard /V 1 /R 2 /O <${hex32}> /U <${"3c".repeat(32)}> /P -4 >>`,
    ],
    `/Encrypt 4 0 R /ID [<${"01".repeat(16)}> <${"01".repeat(16)}>] `,
  );
}

/** A valid two-page PDF made larger than `bytes` by an unused stream of incompressible data. */
export function paddedPdf(bytes: number): Uint8Array {
  const page = (n: number) => {
    const text = encoder.encode(`BT /F1 12 Tf 72 700 Td (Padded page ${n}) Tj ET`);
    return stream("", text);
  };
  const junk = new Uint8Array(bytes);
  for (let i = 0, x = 7; i < junk.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    junk[i] = x >>> 24;
  }
  return rawPdf([
    catalog,
    "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R /Resources << /Font << /F1 7 0 R >> >> >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 6 0 R /Resources << /Font << /F1 7 0 R >> >> >>",
    page(1),
    page(2),
    font,
    stream("", junk),
  ]);
}

/**
 * LZW as PDF's LZWDecode reads it (9-12 bit codes, MSB first, EarlyChange 1): a clear code first and
 * whenever the table is full, end-of-data last. Engines and the decompression cap read what it writes.
 */
export function lzwEncode(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  let width = 9;
  const emit = (code: number) => {
    acc = (acc << width) | code;
    bits += width;
    while (bits >= 8) {
      bits -= 8;
      out.push((acc >>> bits) & 0xff);
    }
    acc &= (1 << bits) - 1;
  };
  // Entries keyed by (code of the string so far, next byte).
  let table = new Map<number, number>();
  let next = 258;
  const reset = () => {
    emit(256);
    table = new Map();
    next = 258;
    width = 9;
  };
  reset();
  let w = -1; // the code of the current string
  for (const c of data) {
    if (w < 0) {
      w = c;
      continue;
    }
    const known = table.get(w * 256 + c);
    if (known !== undefined) {
      w = known;
      continue;
    }
    emit(w);
    table.set(w * 256 + c, next++);
    // The decoder adds each entry one code later than this, and widens one code early.
    if (next + 1 > 1 << width && width < 12) width++;
    if (next >= 4093) reset();
    w = c;
  }
  if (w >= 0) emit(w);
  emit(257);
  if (bits > 0) out.push((acc << (8 - bits)) & 0xff);
  return new Uint8Array(out);
}

/** One page whose content stream is `content` through `filter` (already encoded) with a font. */
export function filteredPagePdf(filter: string, encoded: Uint8Array): Uint8Array {
  return streamPagePdf(`/Filter ${filter}`, encoded);
}

/** A one-page PDF whose content stream (object 4) has `dict` and `data`; `extra` objects are 6 on. */
export function streamPagePdf(dict: string, data: Uint8Array, extra: string[] = []): Uint8Array {
  return rawPdf([
    catalog,
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    stream(dict, data),
    font,
    ...extra,
  ]);
}

/** A content stream that shows `text` and then `padding` spaces (which a bomb inflates to). */
export function paddedContent(text: string, padding: number): Uint8Array {
  const head = Buffer.from(`BT /F1 12 Tf 72 700 Td (${text}) Tj ET\n`, "latin1");
  const out = new Uint8Array(head.length + padding);
  out.set(head);
  out.fill(0x20, head.length);
  return out;
}

/** ASCII85 as PDF's ASCII85Decode reads it ("z" for zero groups, "~>" at the end). */
export function ascii85Encode(data: Uint8Array): Uint8Array {
  let s = "";
  for (let i = 0; i < data.length; i += 4) {
    const n = Math.min(4, data.length - i);
    let v = 0;
    for (let k = 0; k < 4; k++) v = v * 256 + (k < n ? data[i + k]! : 0);
    if (v === 0 && n === 4) {
      s += "z";
      continue;
    }
    const digits: string[] = [];
    for (let k = 0; k < 5; k++) {
      digits.unshift(String.fromCharCode(33 + (v % 85)));
      v = Math.floor(v / 85);
    }
    s += digits.slice(0, n + 1).join("");
  }
  return Buffer.from(`${s}~>`, "latin1");
}

/**
 * LZW codes that decode to `bytes` spaces from about bytes / 2558 bytes, LZW's worst case: each code
 * is the entry the decoder is about to add (a run one byte longer than the last) until the table is
 * full, then the longest run (3839 bytes) again and again, with no clear code.
 */
export function lzwBomb(bytes: number): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  let width = 9;
  let next = 258; // the decoder's next table entry
  let emitted = 0;
  let first = true;
  const emit = (code: number, produces: number) => {
    acc = (acc << width) | code;
    bits += width;
    while (bits >= 8) {
      bits -= 8;
      out.push((acc >>> bits) & 0xff);
    }
    acc &= (1 << bits) - 1;
    emitted += produces;
    // What the decoder does after reading it: add an entry (not after the first code), widen early.
    if (!first && next < 4096) next++;
    first = false;
    if (next >= (1 << width) - 1 && width < 12) width++;
  };
  emit(0x20, 1);
  while (emitted < bytes && next < 4096) emit(next, next - 256);
  while (emitted < bytes) emit(4095, 3839);
  emit(257, 0);
  if (bits > 0) out.push((acc << (8 - bits)) & 0xff);
  return new Uint8Array(out);
}
