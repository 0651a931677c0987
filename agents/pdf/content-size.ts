// Estimates what each page costs to extract from the size of its content streams, read straight
// from the file's bytes: content streams are always top-level objects with a /Length, and a page
// dictionary is either a top-level object or inside an object stream (inflated here). Anything this
// small scanner cannot follow gives `undefined`, and the planner falls back to equal pages.
//
// The file is untrusted, so every step is linear in its size: objects are found by looking for the
// "obj" keyword and reading a bounded number of characters back (a backtracking regex over long
// digit runs was quadratic: one real 400 KB file took 15 s), each object's dictionary is read only
// up to the next object, and every inflate is capped by output size.
import { inflateSync } from "node:zlib";

/** Object numbers above this are not real (the spec's limit is 8,388,607: 7 digits). */
const MAX_NUMBER_DIGITS = 10;
/** A dictionary longer than this is not a page or stream dictionary worth reading. */
const MAX_DICT_CHARS = 64 * 1024;
/** Inflated bytes allowed per object stream, and for all object streams of one document. */
export const INFLATE_LIMITS = { perStream: 16 * 1024 * 1024, perDocument: 64 * 1024 * 1024 };

type Objects = {
  text: string;
  /** Object number → offset just after its "obj" keyword (the last definition wins, as in updates). */
  direct: Map<number, number>;
  /** Sorted offsets of every "obj" keyword: an object's dictionary ends before the next one. */
  starts: number[];
  packed: Map<number, string>;
  dicts: Map<number, string | undefined>;
  unpacked?: boolean;
};

const isDigit = (c: number) => c >= 48 && c <= 57;
// PDF white-space: NUL, HT, LF, FF, CR, SP.
const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9 || c === 12 || c === 0;
const isDelimiterOrSpace = (c: number) =>
  Number.isNaN(c) || isSpace(c) || "()<>[]{}/%".includes(String.fromCharCode(c));

/** Reads back from `end` (exclusive) over digits, at most MAX_NUMBER_DIGITS; -1 when none. */
function digitsBefore(text: string, end: number): number {
  let i = end;
  while (i > 0 && end - i <= MAX_NUMBER_DIGITS && isDigit(text.charCodeAt(i - 1))) i--;
  if (i === end || end - i > MAX_NUMBER_DIGITS) return -1;
  return i;
}

function spaceBefore(text: string, end: number): number {
  let i = end;
  // Bounded too: a run of spaces is read at most once per "obj" keyword that ends it.
  while (i > 0 && end - i < 256 && isSpace(text.charCodeAt(i - 1))) i--;
  return i === end ? -1 : i;
}

/** Finds `<num> <gen> obj` by scanning for "obj" and reading back a bounded distance. */
export function indexObjects(bytes: Uint8Array): Objects {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  const direct = new Map<number, number>();
  const starts: number[] = [];
  for (let at = text.indexOf("obj"); at >= 0; at = text.indexOf("obj", at + 3)) {
    if (!isDelimiterOrSpace(text.charCodeAt(at + 3))) continue; // "object", "objstm"...
    const genSpace = spaceBefore(text, at);
    if (genSpace < 0) continue;
    const gen = digitsBefore(text, genSpace);
    if (gen < 0) continue;
    const numSpace = spaceBefore(text, gen);
    if (numSpace < 0) continue;
    const num = digitsBefore(text, numSpace);
    if (num < 0 || (num > 0 && isDigit(text.charCodeAt(num - 1)))) continue;
    direct.set(Number(text.slice(num, numSpace)), at + 3);
    starts.push(at + 3);
  }
  return { text, direct, starts, packed: new Map(), dicts: new Map() };
}

/** The first offset in `starts` greater than `at` (binary search). */
export function nextStart(starts: number[], at: number): number | undefined {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid]! <= at) lo = mid + 1;
    else hi = mid;
  }
  return starts[lo];
}

/** An object's text up to its stream data or end, read once per object and bounded. */
export function body(o: Objects, num: number): string | undefined {
  if (o.dicts.has(num)) return o.dicts.get(num);
  let out: string | undefined;
  const at = o.direct.get(num);
  if (at !== undefined) {
    const limit = Math.min(nextStart(o.starts, at) ?? o.text.length, at + MAX_DICT_CHARS);
    const window = o.text.slice(at, limit);
    const stream = window.indexOf("stream");
    const end = window.indexOf("endobj");
    const cut = [stream, end].filter((i) => i >= 0);
    out = cut.length > 0 ? window.slice(0, Math.min(...cut)) : window;
  } else {
    out = o.packed.get(num);
  }
  o.dicts.set(num, out);
  return out;
}

function intValue(o: Objects, raw: string): number | undefined {
  const ref = /^\s*(\d{1,10})\s+\d{1,5}\s+R/.exec(raw);
  if (ref) {
    const b = body(o, Number(ref[1]));
    const n = b ? /^\s*(\d{1,12})/.exec(b) : null;
    return n ? Number(n[1]) : undefined;
  }
  const n = /^\s*(\d{1,12})/.exec(raw);
  return n ? Number(n[1]) : undefined;
}

export function streamLength(o: Objects, num: number): number | undefined {
  const b = body(o, num);
  const m = b ? /\/Length\s+(\d{1,12}(?:\s+\d{1,5}\s+R)?)/.exec(b) : null;
  return m ? intValue(o, m[1]!) : undefined;
}

/** Objects packed in object streams (PDF 1.5+): inflate each /Type /ObjStm and index its members. */
function unpackObjectStreams(o: Objects): void {
  let budget = INFLATE_LIMITS.perDocument;
  for (const [num, at] of o.direct) {
    const head = o.text.slice(at, at + 512);
    if (!/\/Type\s*\/ObjStm/.test(head) || !/\/FlateDecode/.test(head)) continue;
    const n = /\/N\s+(\d{1,7})/.exec(head);
    const first = /\/First\s+(\d{1,9})/.exec(head);
    const len = streamLength(o, num);
    const start = o.text.indexOf("stream", at);
    if (!n || !first || len === undefined || start < 0 || start > at + MAX_DICT_CHARS) continue;
    let dataAt = start + 6;
    if (o.text[dataAt] === "\r") dataAt++;
    if (o.text[dataAt] === "\n") dataAt++;
    let data: string;
    try {
      const cap = Math.min(INFLATE_LIMITS.perStream, budget);
      const raw = inflateSync(Buffer.from(o.text.slice(dataAt, dataAt + len), "latin1"), {
        maxOutputLength: Math.max(1, cap),
      });
      budget -= raw.length;
      data = raw.toString("latin1");
    } catch {
      // Corrupt, or inflating past its cap (a decompression bomb): this stream's objects stay unknown.
      continue;
    }
    const pairs = data.slice(0, Number(first[1])).trim().split(/\s+/).map(Number);
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const from = Number(first[1]) + pairs[i + 1]!;
      const to = i + 3 < pairs.length ? Number(first[1]) + pairs[i + 3]! : data.length;
      o.packed.set(pairs[i]!, data.slice(from, Math.min(to, from + MAX_DICT_CHARS)));
    }
    if (budget <= 0) return;
  }
}

/**
 * Content-stream bytes of each page, given the pages' object numbers in page order; undefined when
 * any page cannot be followed.
 */
export function contentSizes(bytes: Uint8Array, pageObjects: number[]): number[] | undefined {
  return sizesOf(indexObjects(bytes), pageObjects);
}

function sizesOf(o: Objects, pageObjects: number[]): number[] | undefined {
  if (!o.unpacked && pageObjects.some((n) => !o.direct.has(n))) {
    o.unpacked = true;
    unpackObjectStreams(o);
    o.dicts.clear();
  }
  const sizes: number[] = [];
  for (const page of pageObjects) {
    const b = body(o, page);
    if (!b) return undefined;
    const contents = /\/Contents\s*(\[[^\]]{0,65536}\]|\d{1,10}\s+\d{1,5}\s+R)/.exec(b);
    if (!contents) {
      sizes.push(0); // a page without content (blank)
      continue;
    }
    let total = 0;
    for (const ref of contents[1]!.matchAll(/(\d{1,10})\s+\d{1,5}\s+R/g)) {
      const len = streamLength(o, Number(ref[1]));
      if (len === undefined) return undefined;
      total += len;
    }
    sizes.push(total);
  }
  return sizes;
}

const refNumber = (s: string | undefined) => (s === undefined ? undefined : Number(s));

/** body(), unpacking object streams the first time an object is not found directly. */
function lookup(o: Objects, num: number): string | undefined {
  const b = body(o, num);
  if (b !== undefined || o.unpacked) return b;
  o.unpacked = true;
  unpackObjectStreams(o);
  o.dicts.delete(num);
  return body(o, num);
}

/**
 * The pages' object numbers in page order, read from the page tree (trailer /Root, /Pages, /Kids),
 * for engines that do not expose them; undefined when the tree cannot be followed or its page count
 * is not `expected`. Bounded: each tree node is visited once, at most 32 levels deep.
 */
export function pageObjectNumbers(bytes: Uint8Array, expected: number): number[] | undefined {
  return pagesOf(indexObjects(bytes), expected);
}

/**
 * Content-stream bytes of each page, from the page tree (pageObjectNumbers, then contentSizes) with
 * the file indexed, and its object streams inflated, once.
 */
export function pageContentSizes(bytes: Uint8Array, expected: number): number[] | undefined {
  const o = indexObjects(bytes);
  const pages = pagesOf(o, expected);
  return pages && sizesOf(o, pages);
}

function pagesOf(o: Objects, expected: number): number[] | undefined {
  // The last /Root in the file is the newest trailer's (or cross-reference stream's, never compressed).
  const at = o.text.lastIndexOf("/Root");
  const root = refNumber(
    at < 0 ? undefined : /^\/Root\s*(\d{1,10})\s+\d{1,5}\s+R/.exec(o.text.slice(at, at + 64))?.[1],
  );
  const catalog = root === undefined ? undefined : lookup(o, root);
  const top = refNumber(catalog && /\/Pages\s*(\d{1,10})\s+\d{1,5}\s+R/.exec(catalog)?.[1]);
  if (top === undefined) return undefined;
  const pages: number[] = [];
  const seen = new Set<number>();
  const walk = (num: number, depth: number): boolean => {
    if (seen.has(num) || depth > 32 || pages.length > expected) return false;
    seen.add(num);
    const dict = lookup(o, num);
    if (!dict) return false;
    if (!/\/Type\s*\/Pages\b/.test(dict)) {
      pages.push(num);
      return true;
    }
    const kids = /\/Kids\s*\[([^\]]{0,65536})\]/.exec(dict);
    if (!kids) return false;
    for (const ref of kids[1]!.matchAll(/(\d{1,10})\s+\d{1,5}\s+R/g))
      if (!walk(Number(ref[1]), depth + 1)) return false;
    return true;
  };
  return walk(top, 0) && pages.length === expected ? pages : undefined;
}
