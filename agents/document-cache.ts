// Keeps the last few opened documents of an agent: consecutive chunks of one document usually
// land on the same agents, and re-opening a long PDF for every chunk halves pdf.js's speed.
import type { ObjectRef } from "../schemas/index.ts";
import { StageError } from "./errors.ts";
import type { PdfDocument, PdfEngine } from "./pdf/engine.ts";

type Entry = { key: string; doc: Promise<PdfDocument> };

function keyOf(ref: ObjectRef): string {
  return `${ref.bucket}/${ref.name}/${ref.size}`;
}

export class DocumentCache {
  readonly #engine: PdfEngine;
  readonly #read: (bucket: string, name: string) => Promise<Uint8Array | null>;
  readonly #capacity: number;
  #entries: Entry[] = [];

  constructor(
    engine: PdfEngine,
    read: (bucket: string, name: string) => Promise<Uint8Array | null>,
    capacity = 2,
  ) {
    this.#engine = engine;
    this.#read = read;
    this.#capacity = capacity;
  }

  async bytes(ref: ObjectRef): Promise<Uint8Array> {
    const data = await this.#read(ref.bucket, ref.name);
    if (!data)
      throw new StageError("OBJECT_MISSING", `document bytes '${ref.name}' are not in ${ref.bucket}`);
    return data;
  }

  /** Keeps a document opened elsewhere (split opens every document first) for the chunks that follow. */
  adopt(ref: ObjectRef, doc: PdfDocument): void {
    this.#insert({ key: keyOf(ref), doc: Promise.resolve(doc) });
  }

  open(ref: ObjectRef): Promise<PdfDocument> {
    const key = keyOf(ref);
    const hit = this.#entries.find((e) => e.key === key);
    if (hit) {
      this.#entries = [hit, ...this.#entries.filter((e) => e !== hit)];
      return hit.doc;
    }
    const doc = this.bytes(ref).then((b) => this.#engine.open(b));
    const entry = { key, doc };
    // A failed open is not cached: the next attempt starts fresh.
    doc.catch(() => {
      this.#entries = this.#entries.filter((e) => e !== entry);
    });
    this.#insert(entry);
    return doc;
  }

  #insert(entry: Entry): void {
    this.#entries = [entry, ...this.#entries.filter((e) => e.key !== entry.key)];
    for (const old of this.#entries.splice(this.#capacity))
      void old.doc.then((d) => d.close()).catch(() => {});
  }

  async close(): Promise<void> {
    const all = this.#entries.splice(0);
    await Promise.allSettled(all.map((e) => e.doc.then((d) => d.close())));
  }
}
