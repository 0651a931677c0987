// A cap on what a document may decompress to, checked before any engine sees it: both engines decode
// a content stream whole, into memory V8's heap limit does not cover (typed arrays; PDFium's
// WebAssembly heap), so a 1 MB file that inflates to 1 GB took an agent thread to 1.3-2.6 GB of RSS
// and aborted PDFium. Streams an engine may decode for text (content streams, forms, fonts, object
// streams; images are never decoded for text) are decoded here through their filter chains
// (agents/pdf/stream-filters.ts), each decode capped by what is left of the document's budget, the
// output dropped at once.
//
// Cheap for ordinary documents, without trusting anything the file claims:
// - Bounds first. Each stream's bound is its size times its filters' worst ratios (deflate 1032,
//   LZW 2560; layers multiply). When the bounds add up to less than the budget, nothing is decoded
//   (most small documents). Otherwise the streams with the largest bounds are decoded first, and the
//   scan stops as soon as what is left could not reach the budget even at its bounds.
// - Sizes remembered. What a stream decoded to is kept per agent under the SHA-256 of its filters
//   and bytes (~0.6 ms per MB against ~4 ms per MB to inflate a font): the same embedded font in
//   the next invoice, the same document opened again for its next chunk, a bomb sent twice, are
//   not decoded again.
// Every stream dictionary is read as the engines tokenize it (agents/pdf/pdf-syntax.ts): escaped
// names, comments, indirect /Filter values, an object defined twice (each definition counts).
import { createHash } from "node:crypto";
import { StageError } from "../errors.ts";
import {
  entriesOf,
  hasStreamKeyword,
  indexObjects,
  type ObjectIndex,
  PdfReader,
  type PdfValue,
} from "./pdf-syntax.ts";
import { decode, type Filter, filterNamed, MAX_RATIO } from "./stream-filters.ts";

/** One filter of a chain; undefined for one not decoded here (image codecs), which ends the chain. */
type Step = { filter: Filter | undefined; earlyChange: boolean };

type Candidate = {
  num: number;
  data: Uint8Array;
  chain: Step[];
  /** The most it can decode to: its size times each filter's worst ratio. */
  bound: number;
};

/** What a stream decoded to (`peak`: its largest layer), or that decoding it passed `over` bytes. */
type Known = { final: number; peak: number } | { over: number };

/** Streams smaller than this are decoded rather than hashed and remembered. */
const MIN_REMEMBERED_BYTES = 4096;

/** The sizes streams decoded to, by the SHA-256 of their filter chain and bytes; least recent dropped. */
export class DecodedSizes {
  readonly #capacity: number;
  readonly #known = new Map<string, Known>();
  /** Lookups that found a size (each one a decode saved). */
  hits = 0;

  constructor(capacity = 1024) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#known.size;
  }

  get(key: string): Known | undefined {
    const k = this.#known.get(key);
    if (k) {
      this.hits++;
      this.#known.delete(key);
      this.#known.set(key, k);
    }
    return k;
  }

  set(key: string, k: Known): void {
    this.#known.delete(key);
    this.#known.set(key, k);
    if (this.#known.size > this.#capacity) this.#known.delete(this.#known.keys().next().value!);
  }
}

/** What checkInflatedSize did for a document. */
export type InflateReport = {
  /** The most the document's streams could decode to, at their filters' worst ratios. */
  bound: number;
  /** What the streams it decoded (or remembered) came to. */
  decodedBytes: number;
  /** Streams decoded here. */
  decodedStreams: number;
  /** Streams whose size was remembered from an earlier decode of the same bytes. */
  knownStreams: number;
};

const refused = (message: string) => new StageError("PDF_RESOURCE_LIMIT", message);

/** The file's objects, read the way the engines tokenize them, each read ending at the next object. */
class ObjectReader {
  readonly bytes: Uint8Array;
  readonly o: ObjectIndex;
  /** Streams whose /Filter names an object not in the file (null to an engine, unless packed). */
  readonly dangling: number[] = [];
  #byNumber: Map<number, number[]> | undefined;
  readonly #values = new Map<number, PdfValue[]>();

  constructor(bytes: Uint8Array, o: ObjectIndex) {
    this.bytes = bytes;
    this.o = o;
  }

  /** Where object definition `i` ends: at the next one. */
  end(i: number): number {
    return this.o.starts[i + 1] ?? this.bytes.length;
  }

  reader(i: number): PdfReader {
    return new PdfReader(this.bytes, this.o.starts[i]!, this.end(i));
  }

  /** The values of object `num` at each of its definitions (an update may define it again). */
  definitions(num: number): PdfValue[] {
    if (!this.#byNumber) {
      this.#byNumber = new Map();
      this.o.numbers.forEach((n, i) => {
        const list = this.#byNumber!.get(n);
        if (list) list.push(i);
        else this.#byNumber!.set(n, [i]);
      });
    }
    let values = this.#values.get(num);
    if (!values) {
      values = (this.#byNumber.get(num) ?? []).flatMap((i) => this.reader(i).value() ?? []);
      this.#values.set(num, values);
    }
    return values;
  }

  /** A direct value, following a reference to the object's last definition (one level). */
  resolve(v: PdfValue | undefined): PdfValue | undefined {
    return v?.kind === "ref" ? this.definitions(v.num).at(-1) : v;
  }
}

/** A filter chain from a /Filter value: a name, an array of names, either of them indirect. */
function chainOf(objects: ObjectReader, value: PdfValue, parms: PdfValue | undefined, num: number): Step[] {
  const names = value.kind === "array" ? value.items.map((v) => objects.resolve(v)) : [value];
  const parmsAt = (i: number) => {
    const p = objects.resolve(parms);
    return objects.resolve(p?.kind === "array" ? p.items[i] : p);
  };
  return names.map((n, i) => {
    if (!n) objects.dangling.push(num);
    // Not a name (null, a number, nothing): engines decode nothing there.
    const filter = n?.kind === "name" ? filterNamed(n.name) : undefined;
    const early = filter === "lzw" ? entriesOf(parmsAt(i) ?? { kind: "other" }, "EarlyChange") : [];
    return { filter, earlyChange: !early.some((e) => e.kind === "number" && e.value === 0) };
  });
}

const ENDSTREAM = Buffer.from("endstream", "latin1");
const STREAM = Buffer.from("stream", "latin1");

/** Where a stream's data ends: engines trust "endstream" over a wrong /Length, so does the count. */
function dataEnd(bytes: Buffer, dataAt: number, length: number, objectEnd: number): number {
  let at = dataAt + length;
  if (bytes[at] === 13) at++;
  if (bytes[at] === 10) at++;
  // The usual case, "endstream" right after /Length bytes: no earlier "endstream" can be later.
  if (bytes.subarray(at, at + 9).equals(ENDSTREAM)) return dataAt + length;
  // Searched up to the next object only, so the scan stays linear in the file.
  const endstream = bytes.subarray(dataAt, objectEnd).indexOf(ENDSTREAM);
  return Math.min(bytes.length, Math.max(dataAt + length, endstream < 0 ? 0 : dataAt + endstream));
}

function candidates(bytes: Uint8Array): Candidate[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const o = indexObjects(bytes);
  const objects = new ObjectReader(bytes, o);
  const out: Candidate[] = [];
  let objectStreams = false;
  for (let i = 0; i < o.starts.length; i++) {
    const num = o.numbers[i]!;
    const objectEnd = objects.end(i);
    // Only a stream is decoded, and a stream has the keyword before the next object.
    if (!hasStreamKeyword(bytes, o.starts[i]!, objectEnd)) continue;
    const reader = objects.reader(i);
    const dict = reader.value();
    if (dict?.kind !== "dict") {
      // Unreadable where it may be a stream: an engine may read what this cannot.
      if (!dict)
        throw refused(
          `object ${num}'s dictionary cannot be read here: the decompression cap cannot count it`,
        );
      continue;
    }
    reader.skip();
    if (!buf.subarray(reader.at, reader.at + 6).equals(STREAM)) continue;
    if (entriesOf(dict, "Subtype").some((s) => s.kind === "name" && s.name === "Image")) continue;
    const parms = entriesOf(dict, "DecodeParms")[0];
    // Each value of a /Filter written twice, and of an indirect one defined twice, is a chain to count.
    if (entriesOf(dict, "Type").some((t) => t.kind === "name" && t.name === "ObjStm")) objectStreams = true;
    const chains = entriesOf(dict, "Filter").flatMap((f) => {
      const values = f.kind === "ref" ? objects.definitions(f.num) : [f];
      if (values.length === 0) objects.dangling.push(num);
      return values.map((v) => chainOf(objects, v, parms, num));
    });
    if (!chains.some((chain) => chain.some((s) => s.filter && MAX_RATIO[s.filter] > 1))) continue;
    let dataAt = reader.at + 6;
    if (bytes[dataAt] === 13) dataAt++;
    if (bytes[dataAt] === 10) dataAt++;
    const lengths = entriesOf(dict, "Length").flatMap((l) =>
      l.kind === "ref" ? objects.definitions(l.num) : [l],
    );
    const length = Math.max(
      0,
      ...lengths.map((l) => (l.kind === "number" ? Math.min(l.value, bytes.length) : 0)),
    );
    const data = bytes.subarray(dataAt, dataEnd(buf, dataAt, length, objectEnd));
    for (const chain of chains) {
      if (!chain.some((s) => s.filter && MAX_RATIO[s.filter] > 1)) continue;
      let bound = data.length;
      for (const s of chain) {
        if (!s.filter) break;
        bound *= MAX_RATIO[s.filter];
      }
      out.push({ num, data, chain, bound });
    }
  }
  // An object stream's member, which engines read and this scan does not, may be what it names.
  if (objectStreams && objects.dangling.length > 0)
    throw refused(
      `object ${objects.dangling[0]}'s /Filter names an object this scan cannot read: the decompression cap cannot count it`,
    );
  return out;
}

/** Decodes a stream through its chain, each layer capped at `cap` bytes. */
function decodeChain(s: Candidate, cap: number): Known {
  let data = s.data;
  let peak = 0;
  let ran = false;
  for (const step of s.chain) {
    if (!step.filter) break;
    const decoded = decode(step.filter, data, cap, step.earlyChange);
    if (decoded === "over") return { over: cap };
    ran = true;
    peak = Math.max(peak, decoded.length);
    data = decoded;
  }
  return ran ? { final: data.length, peak } : { final: 0, peak: 0 };
}

function keyOf(s: Candidate): string {
  const chain = s.chain.map((c) => `${c.filter ?? "-"}${c.filter === "lzw" && !c.earlyChange ? "0" : ""}`);
  return createHash("sha256").update(chain.join(",")).update("\n").update(s.data).digest("base64");
}

/**
 * Throws PDF_RESOURCE_LIMIT when the document's streams (images aside) decode to more than `limit`
 * bytes in all, through every filter in their chains (Flate, LZW, ASCII85, ASCIIHex, RunLength, in
 * layers too). Corrupt streams count what they decode to before the damage; a chain stops at a
 * filter not decoded here (image codecs), counting what came before it. `known`: sizes remembered
 * from earlier documents (the same stream is then not decoded again).
 */
export function checkInflatedSize(bytes: Uint8Array, limit: number, known?: DecodedSizes): InflateReport {
  const streams = candidates(bytes).sort((a, b) => b.bound - a.bound);
  const bound = streams.reduce((n, s) => n + s.bound, 0);
  const report: InflateReport = { bound, decodedBytes: 0, decodedStreams: 0, knownStreams: 0 };
  let left = bound;
  for (const s of streams) {
    if (report.decodedBytes + left <= limit) break;
    left -= s.bound;
    const cap = limit - report.decodedBytes;
    const key = known && s.data.length >= MIN_REMEMBERED_BYTES ? keyOf(s) : undefined;
    let size = key === undefined ? undefined : known!.get(key);
    // A remembered "over" of a smaller cap says nothing about this one: decode again.
    if (size && "over" in size && size.over < cap) size = undefined;
    if (size) report.knownStreams++;
    else {
      size = decodeChain(s, cap);
      report.decodedStreams++;
      if (key !== undefined) known!.set(key, size);
    }
    if ("over" in size || size.peak > cap || report.decodedBytes + size.final > limit) {
      throw refused(
        `the document decompresses to more than ${limit} bytes (object ${s.num}): refused as a decompression bomb (maxInflatedBytes)`,
      );
    }
    report.decodedBytes += size.final;
  }
  return report;
}
