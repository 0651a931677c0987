// The PDF stream filters an engine runs when it reads a document for text, decoded here with a cap on
// their output (agents/pdf/inflate-guard.ts counts what a document decompresses to; names arrive
// with their #xx escapes decoded, agents/pdf/pdf-syntax.ts). Only the filters
// that can expand data beyond their input, or sit in front of one that does, are decoded; image codecs
// (DCT, JPX, JBIG2, CCITT) are not run for text.
import { constants, inflateSync } from "node:zlib";

export type Filter = "flate" | "lzw" | "ascii85" | "asciihex" | "runlength";

/** Full names, and the abbreviations PDF allows in inline images (both engines take them anywhere). */
const NAMES: Record<string, Filter> = {
  FlateDecode: "flate",
  Fl: "flate",
  LZWDecode: "lzw",
  LZW: "lzw",
  ASCII85Decode: "ascii85",
  A85: "ascii85",
  ASCIIHexDecode: "asciihex",
  AHx: "asciihex",
  RunLengthDecode: "runlength",
  RL: "runlength",
};

/**
 * The most each filter can expand its input: deflate ~1032 (258-byte matches in ~2 bits); LZW ~2560
 * (one repeated byte fills the 4096-entry table with runs of 2..3839 bytes from ~5.4 KB of codes;
 * with no clear code after that, every 12-bit code can repeat the longest run); ASCII85 4 ("z" is
 * four zero bytes); run-length 64 (2 bytes -> 128).
 */
export const MAX_RATIO: Record<Filter, number> = {
  flate: 1032,
  lzw: 2560,
  ascii85: 4,
  asciihex: 1,
  runlength: 64,
};

/** The filter a name stands for (escapes already decoded), undefined for one not decoded here. */
export function filterNamed(name: string): Filter | undefined {
  return Object.hasOwn(NAMES, name) ? NAMES[name] : undefined;
}

/** The decoded stream, or "over" when it would exceed `cap` bytes. Corrupt data decodes up to the damage. */
export function decode(
  filter: Filter,
  data: Uint8Array,
  cap: number,
  earlyChange = true,
): Uint8Array | "over" {
  switch (filter) {
    case "flate":
      try {
        return inflateSync(data, {
          maxOutputLength: Math.max(1, cap + 1),
          // Chunks sized to the input: few for a large font (the 16 KiB default made a 760 KB one cost
          // 30 % more), small for a tiny stream (a 16 KiB chunk made each 8x dearer).
          chunkSize: Math.max(1024, Math.min(cap + 1, 4 * 1024 * 1024, data.length * 4)),
          finishFlush: constants.Z_SYNC_FLUSH,
        });
      } catch (err) {
        return (err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" ? "over" : new Uint8Array(0);
      }
    case "lzw":
      return lzwDecode(data, cap, earlyChange);
    case "ascii85":
      return ascii85Decode(data, cap);
    case "asciihex":
      return asciiHexDecode(data);
    case "runlength":
      return runLengthDecode(data, cap);
  }
}

/** A growing output buffer that refuses to pass `cap` bytes. */
class Output {
  buf: Uint8Array;
  length = 0;
  readonly #cap: number;
  constructor(hint: number, cap: number) {
    this.#cap = cap;
    this.buf = new Uint8Array(Math.max(64, Math.min(hint, cap + 1)));
  }
  /** Room for `n` more bytes; false when that passes the cap. */
  reserve(n: number): boolean {
    const need = this.length + n;
    if (need > this.#cap) return false;
    if (need > this.buf.length) {
      const next = new Uint8Array(Math.min(this.#cap + 1, Math.max(need, this.buf.length * 2)));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    return true;
  }
  push(byte: number): void {
    this.buf[this.length++] = byte;
  }
  done(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

const CLEAR = 256;
const EOD = 257;

/** LZW as PDF defines it (TIFF's variant, MSB first, 9-12 bit codes, EarlyChange 1 by default). */
export function lzwDecode(data: Uint8Array, cap: number, earlyChange = true): Uint8Array | "over" {
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const length = new Int32Array(4096);
  for (let i = 0; i < 256; i++) {
    prefix[i] = -1;
    suffix[i] = i;
    length[i] = 1;
  }
  const out = new Output(data.length * 4, cap);
  let next = 258;
  let width = 9;
  let previous = -1;
  let bits = 0;
  let held = 0;
  for (let i = 0; i < data.length; i++) {
    held = ((held << 8) | data[i]!) >>> 0;
    bits += 8;
    while (bits >= width) {
      bits -= width;
      const code = (held >>> bits) & ((1 << width) - 1);
      held &= (1 << bits) - 1;
      if (code === EOD) return out.done();
      if (code === CLEAR) {
        next = 258;
        width = 9;
        previous = -1;
        continue;
      }
      if (code > next || (code === next && previous < 0)) return out.done(); // corrupt
      if (previous >= 0 && next < 4096) {
        // The new entry: the previous string plus the first byte of this one (of itself when new).
        let first = code === next ? previous : code;
        while (prefix[first]! >= 0) first = prefix[first]!;
        prefix[next] = previous;
        suffix[next] = suffix[first]!;
        length[next] = length[previous]! + 1;
        next++;
      }
      const n = length[code]!;
      if (!out.reserve(n)) return "over";
      // Written back to front, walking the prefixes.
      let at = out.length + n - 1;
      for (let c = code; c >= 0; c = prefix[c]!) out.buf[at--] = suffix[c]!;
      out.length += n;
      previous = code;
      const limit = (1 << width) - (earlyChange ? 1 : 0);
      if (next >= limit && width < 12) width++;
    }
  }
  return out.done();
}

function ascii85Decode(data: Uint8Array, cap: number): Uint8Array | "over" {
  const out = new Output(data.length, cap);
  let group = 0;
  let count = 0;
  const flush = (n: number) => {
    for (let k = 0; k < n; k++) out.push((group >>> (24 - 8 * k)) & 0xff);
  };
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c === 0x7e) break; // "~>"
    if (c === 0x7a && count === 0) {
      if (!out.reserve(4)) return "over";
      flush(4); // group is 0
      continue;
    }
    if (c < 0x21 || c > 0x75) continue; // whitespace and stray bytes
    group = group * 85 + (c - 0x21);
    if (++count === 5) {
      if (!out.reserve(4)) return "over";
      group >>>= 0;
      flush(4);
      group = 0;
      count = 0;
    }
  }
  if (count > 1) {
    for (let k = count; k < 5; k++) group = group * 85 + 84;
    group >>>= 0;
    if (!out.reserve(count - 1)) return "over";
    flush(count - 1);
  }
  return out.done();
}

function asciiHexDecode(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / 2));
  let n = 0;
  let high = -1;
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c === 0x3e) break; // ">"
    const v =
      c >= 0x30 && c <= 0x39
        ? c - 0x30
        : c >= 0x41 && c <= 0x46
          ? c - 55
          : c >= 0x61 && c <= 0x66
            ? c - 87
            : -1;
    if (v < 0) continue;
    if (high < 0) high = v;
    else {
      out[n++] = (high << 4) | v;
      high = -1;
    }
  }
  if (high >= 0) out[n++] = high << 4;
  return out.subarray(0, n);
}

function runLengthDecode(data: Uint8Array, cap: number): Uint8Array | "over" {
  const out = new Output(data.length * 2, cap);
  for (let i = 0; i < data.length; ) {
    const b = data[i++]!;
    if (b === 128) break;
    if (b < 128) {
      const n = Math.min(b + 1, data.length - i);
      if (!out.reserve(n)) return "over";
      for (let k = 0; k < n; k++) out.push(data[i + k]!);
      i += n;
    } else {
      if (i >= data.length) break;
      const n = 257 - b;
      if (!out.reserve(n)) return "over";
      const v = data[i++]!;
      for (let k = 0; k < n; k++) out.push(v);
    }
  }
  return out.done();
}
