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
