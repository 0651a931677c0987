// Estimates what each page costs to extract from the size of its content streams, read straight
// from the file's bytes: content streams are always top-level objects with a /Length, and a page
// dictionary is either a top-level object or inside an object stream (inflated here). Anything this
// small scanner cannot follow gives `undefined`, and the planner falls back to equal pages.
import { inflateSync } from "node:zlib";

type Objects = { text: string; direct: Map<number, number>; packed: Map<number, string> };

const OBJ = /(\d+)\s+(\d+)\s+obj\b/g;

function indexObjects(bytes: Uint8Array): Objects {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  const direct = new Map<number, number>();
  for (const m of text.matchAll(OBJ)) direct.set(Number(m[1]), m.index! + m[0].length);
  return { text, direct, packed: new Map() };
}

function body(o: Objects, num: number): string | undefined {
  const at = o.direct.get(num);
  if (at !== undefined) {
    const end = o.text.indexOf("endobj", at);
    return o.text.slice(at, end < 0 ? at + 4096 : end);
  }
  return o.packed.get(num);
}

function intValue(o: Objects, raw: string): number | undefined {
  const ref = /^\s*(\d+)\s+\d+\s+R/.exec(raw);
  if (ref) {
    const b = body(o, Number(ref[1]));
    const n = b ? /^\s*(\d+)/.exec(b) : null;
    return n ? Number(n[1]) : undefined;
  }
  const n = /^\s*(\d+)/.exec(raw);
  return n ? Number(n[1]) : undefined;
}

function streamLength(o: Objects, num: number): number | undefined {
  const b = body(o, num);
  const m = b ? /\/Length\s+(\d+(?:\s+\d+\s+R)?)/.exec(b) : null;
  return m ? intValue(o, m[1]!) : undefined;
}

/** Objects packed in object streams (PDF 1.5+): inflate each /Type /ObjStm and index its members. */
function unpackObjectStreams(o: Objects): void {
  for (const [num, at] of o.direct) {
    const head = o.text.slice(at, at + 512);
    if (!/\/Type\s*\/ObjStm/.test(head) || !/\/FlateDecode/.test(head)) continue;
    const n = /\/N\s+(\d+)/.exec(head);
    const first = /\/First\s+(\d+)/.exec(head);
    const len = streamLength(o, num);
    const start = o.text.indexOf("stream", at);
    if (!n || !first || len === undefined || start < 0) continue;
    let dataAt = start + 6;
    if (o.text[dataAt] === "\r") dataAt++;
    if (o.text[dataAt] === "\n") dataAt++;
    let data: string;
    try {
      data = inflateSync(Buffer.from(o.text.slice(dataAt, dataAt + len), "latin1")).toString("latin1");
    } catch {
      continue;
    }
    const pairs = data.slice(0, Number(first[1])).trim().split(/\s+/).map(Number);
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const from = Number(first[1]) + pairs[i + 1]!;
      const to = i + 3 < pairs.length ? Number(first[1]) + pairs[i + 3]! : data.length;
      o.packed.set(pairs[i]!, data.slice(from, to));
    }
  }
}

/**
 * Content-stream bytes of each page, given the pages' object numbers in page order; undefined when
 * any page cannot be followed.
 */
export function contentSizes(bytes: Uint8Array, pageObjects: number[]): number[] | undefined {
  const o = indexObjects(bytes);
  if (pageObjects.some((n) => !o.direct.has(n))) unpackObjectStreams(o);
  const sizes: number[] = [];
  for (const page of pageObjects) {
    const b = body(o, page);
    if (!b) return undefined;
    const contents = /\/Contents\s*(\[[^\]]*\]|\d+\s+\d+\s+R)/.exec(b);
    if (!contents) {
      sizes.push(0); // a page without content (blank)
      continue;
    }
    let total = 0;
    for (const ref of contents[1]!.matchAll(/(\d+)\s+\d+\s+R/g)) {
      const len = streamLength(o, Number(ref[1]));
      if (len === undefined) return undefined;
      total += len;
    }
    sizes.push(total);
  }
  return sizes;
}
