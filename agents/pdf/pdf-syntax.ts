// Reads one PDF object (a stream's dictionary, the value an indirect /Filter points at) the way the
// engines tokenize it, for the decompression cap (agents/pdf/inflate-guard.ts): names with #xx
// escapes ("/Fl#61teDecode" is /FlateDecode to PDFium and pdf.js), comments anywhere between
// tokens, strings holding "stream" or ">>", nested dictionaries. A regex over the raw text missed
// each of those, and a bomb spelled that way reached the engines uncounted.
//
// Untrusted input: a read stops at `end` (the next object) and after MAX_TOKENS values or MAX_DEPTH
// levels, so reading every object of a file is linear in its size.

export type PdfValue =
  | { kind: "name"; name: string }
  | { kind: "ref"; num: number }
  | { kind: "number"; value: number }
  | { kind: "array"; items: PdfValue[] }
  | { kind: "dict"; entries: Array<[string, PdfValue]> }
  | { kind: "other" };

const MAX_DEPTH = 32;
const MAX_TOKENS = 100_000;
/** Characters kept of one token (names and numbers are short; PDF's own limit on names is 127). */
const MAX_WORD = 256;

// PDF white-space: NUL, HT, LF, FF, CR, SP; delimiters: ()<>[]{}/%.
const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9 || c === 12 || c === 0;
const isDelimiter = (c: number) =>
  c === 40 ||
  c === 41 ||
  c === 60 ||
  c === 62 ||
  c === 91 ||
  c === 93 ||
  c === 123 ||
  c === 125 ||
  c === 47 ||
  c === 37;
const isRegular = (c: number) => !Number.isNaN(c) && !isSpace(c) && !isDelimiter(c);
const isDigits = (s: string, most: number) => {
  if (s.length === 0 || s.length > most) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 48 || s.charCodeAt(i) > 57) return false;
  return true;
};
const hexValue = (c: number) =>
  c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;

/** A reader over a file's bytes, from `at`, seeing nothing from `end` on. */
export class PdfReader {
  readonly bytes: Uint8Array;
  at: number;
  readonly #end: number;
  #tokens = 0;

  constructor(bytes: Uint8Array, at: number, end = bytes.length) {
    this.bytes = bytes;
    this.at = at;
    this.#end = Math.min(end, bytes.length);
  }

  #code(at: number): number {
    return at < this.#end ? this.bytes[at]! : Number.NaN;
  }

  /** Skips white-space and comments. */
  skip(): void {
    for (;;) {
      const c = this.#code(this.at);
      if (isSpace(c)) this.at++;
      else if (c === 37) {
        // A comment runs to the end of the line.
        while (this.at < this.#end && this.bytes[this.at] !== 10 && this.bytes[this.at] !== 13) this.at++;
      } else return;
    }
  }

  /** The next value, or undefined when the text is not one (or it is too large to read). */
  value(depth = 0): PdfValue | undefined {
    if (depth > MAX_DEPTH || ++this.#tokens > MAX_TOKENS) return undefined;
    this.skip();
    const c = this.#code(this.at);
    if (c === 47) return { kind: "name", name: this.#name() };
    if (c === 60 && this.#code(this.at + 1) === 60) return this.#dict(depth);
    if (c === 60) {
      const end = this.bytes.indexOf(62, this.at);
      if (end < 0 || end >= this.#end) return undefined;
      this.at = end + 1;
      return { kind: "other" };
    }
    if (c === 40) return this.#string() ? { kind: "other" } : undefined;
    if (c === 91) {
      this.at++;
      const items: PdfValue[] = [];
      for (;;) {
        this.skip();
        if (this.#code(this.at) === 93) {
          this.at++;
          return { kind: "array", items };
        }
        const v = this.value(depth + 1);
        if (!v) return undefined;
        items.push(v);
      }
    }
    if (!isRegular(c)) return undefined;
    const word = this.#word();
    const n = Number(word);
    if (word === "" || !Number.isFinite(n)) return { kind: "other" }; // true, false, null
    // "<num> <gen> R": an indirect reference.
    if (isDigits(word, 10)) {
      const back = this.at;
      this.skip();
      const gen = this.#word();
      if (isDigits(gen, 5)) {
        this.skip();
        if (this.#code(this.at) === 82 && !isRegular(this.#code(this.at + 1))) {
          this.at++;
          return { kind: "ref", num: n };
        }
      }
      this.at = back;
    }
    return { kind: "number", value: n };
  }

  #word(): string {
    const from = this.at;
    while (isRegular(this.#code(this.at))) this.at++;
    let word = "";
    for (let i = from; i < Math.min(this.at, from + MAX_WORD); i++)
      word += String.fromCharCode(this.bytes[i]!);
    return word;
  }

  /** A name after its "/", #xx escapes decoded. */
  #name(): string {
    this.at++;
    const raw = this.#word();
    if (!raw.includes("#")) return raw;
    return raw.replace(/#([0-9A-Fa-f]{2})/g, (_, h: string) =>
      String.fromCharCode(hexValue(h.charCodeAt(0)) * 16 + hexValue(h.charCodeAt(1))),
    );
  }

  #dict(depth: number): PdfValue | undefined {
    this.at += 2;
    const entries: Array<[string, PdfValue]> = [];
    for (;;) {
      this.skip();
      if (this.#code(this.at) === 62 && this.#code(this.at + 1) === 62) {
        this.at += 2;
        return { kind: "dict", entries };
      }
      if (this.#code(this.at) !== 47) return undefined;
      const key = this.#name();
      const v = this.value(depth + 1);
      if (!v) return undefined;
      entries.push([key, v]);
    }
  }

  /** A literal string: balanced parentheses, backslash escapes. False when it does not end. */
  #string(): boolean {
    const b = this.bytes;
    let open = 0;
    for (; this.at < this.#end; this.at++) {
      const c = b[this.at]!;
      if (c === 92) this.at++;
      else if (c === 40) open++;
      else if (c === 41 && --open === 0) {
        this.at++;
        return true;
      }
    }
    return false;
  }
}

/** Every value a dictionary holds under `key` (a key written twice counts twice). */
export function entriesOf(dict: PdfValue, key: string): PdfValue[] {
  return dict.kind === "dict" ? dict.entries.filter(([k]) => k === key).map(([, v]) => v) : [];
}

const OBJ = Buffer.from("obj", "latin1");
const STREAM = Buffer.from("stream", "latin1");

/** Where every "<num> <gen> obj" of a file is: the offset after "obj", and the object number. */
export type ObjectIndex = { starts: number[]; numbers: number[] };

/**
 * Finds every "<num> <gen> obj" (as agents/pdf/content-size.ts does, on bytes): each definition of
 * an object, wherever it is, since an engine may be pointed at any of them.
 */
export function indexObjects(bytes: Uint8Array): ObjectIndex {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const starts: number[] = [];
  const numbers: number[] = [];
  const digitsBefore = (end: number) => {
    let i = end;
    while (i > 0 && end - i <= 10 && b[i - 1]! >= 48 && b[i - 1]! <= 57) i--;
    return i === end || end - i > 10 ? -1 : i;
  };
  const spaceBefore = (end: number) => {
    let i = end;
    while (i > 0 && end - i < 256 && isSpace(b[i - 1]!)) i--;
    return i === end ? -1 : i;
  };
  for (let at = b.indexOf(OBJ); at >= 0; at = b.indexOf(OBJ, at + 3)) {
    const after = at + 3 < b.length ? b[at + 3]! : 32;
    if (!isSpace(after) && !isDelimiter(after)) continue; // "object", "objstm"...
    const genSpace = spaceBefore(at);
    const gen = genSpace < 0 ? -1 : digitsBefore(genSpace);
    const numSpace = gen < 0 ? -1 : spaceBefore(gen);
    const num = numSpace < 0 ? -1 : digitsBefore(numSpace);
    if (num < 0 || (num > 0 && b[num - 1]! >= 48 && b[num - 1]! <= 57)) continue;
    starts.push(at + 3);
    numbers.push(Number(b.toString("latin1", num, numSpace)));
  }
  return { starts, numbers };
}

/** Whether the keyword "stream" occurs in bytes [from, to). */
export function hasStreamKeyword(bytes: Uint8Array, from: number, to: number): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset + from, Math.max(0, to - from)).indexOf(STREAM) >= 0;
}
