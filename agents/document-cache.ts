// Keeps the last few opened documents of an agent: consecutive chunks of one document usually
// land on the same agents, and re-opening a long PDF for every chunk halves pdf.js's speed. Bytes
// come from the host's shared memory when another agent of this host already has them
// (agents/shared-bytes.ts), else from the object store.
import type { DocReading, ObjectRef } from "../schemas/index.ts";
import { StageError } from "./errors.ts";
import type { OpenOptions, PdfDocument, PdfEngine } from "./pdf/engine.ts";
import type { Shared, SharedBytes } from "./shared-bytes.ts";

/** `users`: tasks using the document right now; it is never closed under them. */
type Entry = { key: string; engine: string; doc: Promise<PdfDocument>; users: number; dropped?: boolean };

function closeEntry(e: Entry): void {
  void e.doc.then((d) => d.close()).catch(() => {});
}

export type DocumentCacheOptions = {
  /** Opened documents kept. */
  capacity?: number;
  /** The host's shared document bytes. */
  shared?: SharedBytes;
};

/**
 * A document's identity: its object, and the run that stored it (a document processed again may
 * have new bytes under the same name).
 */
function keyOf(ref: ObjectRef, runId: string | undefined): string {
  return `${ref.bucket}/${ref.name}/${ref.size}/${runId ?? ""}`;
}

export class DocumentCache {
  readonly #engine: PdfEngine;
  readonly #read: (bucket: string, name: string) => Promise<Uint8Array | null>;
  readonly #capacity: number;
  readonly #shared: SharedBytes | undefined;
  #entries: Entry[] = [];
  /** Bytes a document was opened from, and the decompression cap they passed (not kept alive here). */
  readonly #checked = new WeakMap<Uint8Array, number>();

  constructor(
    engine: PdfEngine,
    /** Reads an object's bytes (direct gets: no consumer per read). */
    read: (bucket: string, name: string) => Promise<Uint8Array | null>,
    options: DocumentCacheOptions = {},
  ) {
    this.#engine = engine;
    this.#read = read;
    this.#capacity = options.capacity ?? 2;
    this.#shared = options.shared;
  }

  /** The bytes of an object; with `runId`, shared with the other agents of this host. */
  async bytes(ref: ObjectRef, runId?: string): Promise<Uint8Array> {
    return (await this.#source(ref, runId)).bytes;
  }

  async #source(ref: ObjectRef, runId: string | undefined): Promise<Shared<Uint8Array>> {
    const key = keyOf(ref, runId);
    if (runId !== undefined && this.#shared) {
      const hit = await this.#shared.get(key);
      if (hit) return hit;
    }
    const data = await this.#read(ref.bucket, ref.name);
    if (!data)
      throw new StageError("OBJECT_MISSING", `document bytes '${ref.name}' are not in ${ref.bucket}`);
    return { bytes: runId !== undefined ? this.share(ref, runId, data) : data };
  }

  /**
   * Offers bytes this agent already holds to the other agents of this host, with the decompression
   * cap they passed when this cache opened a document from these very bytes.
   */
  share(ref: ObjectRef, runId: string, bytes: Uint8Array): Uint8Array {
    if (!this.#shared) return bytes;
    return this.#shared.put(keyOf(ref, runId), bytes, this.#checked.get(bytes));
  }

  /**
   * Runs `fn` with the opened document (from this cache, opened from `bytes` when the caller has
   * them, or fetched). The document stays open until `fn` settles, even if other tasks push it out
   * of the cache meanwhile (an agent with several slots works on several documents at once).
   */
  async use<T>(
    ref: ObjectRef,
    runId: string | undefined,
    fn: (doc: PdfDocument) => Promise<T>,
    bytes?: Uint8Array,
    /** The engine and password the document's submission asked for. */
    reading?: DocReading,
  ): Promise<T> {
    const entry = this.#acquire(ref, runId, bytes, reading);
    try {
      return await fn(await entry.doc);
    } finally {
      entry.users--;
      if (entry.dropped && entry.users === 0) closeEntry(entry);
      this.#trim();
    }
  }

  /** The opened document, unpinned: another task may close it at any time (prefer use()). */
  open(ref: ObjectRef, runId?: string, bytes?: Uint8Array, reading?: DocReading): Promise<PdfDocument> {
    const entry = this.#acquire(ref, runId, bytes, reading);
    entry.users--;
    this.#trim();
    return entry.doc;
  }

  #acquire(
    ref: ObjectRef,
    runId: string | undefined,
    bytes: Uint8Array | undefined,
    reading: DocReading | undefined,
  ): Entry {
    const key = keyOf(ref, runId);
    const engine = reading?.engine ?? "";
    const hit = this.#entries.find((e) => e.key === key && e.engine === engine);
    if (hit) {
      this.#entries = [hit, ...this.#entries.filter((e) => e !== hit)];
      hit.users++;
      return hit;
    }
    const options: OpenOptions = {
      ...(reading?.engine && { engine: reading.engine }),
      ...(reading?.password !== undefined && { password: reading.password }),
    };
    const source: Promise<Shared<Uint8Array>> = bytes ? Promise.resolve({ bytes }) : this.#source(ref, runId);
    const doc = source.then(async (s) => {
      const checked = s.inflateChecked;
      const opened = await this.#engine.open(s.bytes, {
        ...options,
        ...(checked !== undefined && { inflateChecked: checked }),
      });
      // What these bytes are now known to pass: the cap they were shared with, or the one this
      // open checked them under (whichever is lower).
      const cap = Math.min(checked ?? Infinity, this.#engine.maxInflatedBytes ?? Infinity);
      if (cap !== Infinity) this.#checked.set(s.bytes, cap);
      return opened;
    });
    const entry: Entry = { key, engine, doc, users: 1 };
    // A failed open is not cached: the next attempt starts fresh.
    doc.catch(() => {
      this.#entries = this.#entries.filter((e) => e !== entry);
    });
    this.#entries.unshift(entry);
    this.#trim();
    return entry;
  }

  /** Closes the least recently used documents beyond capacity that no task is using. */
  #trim(): void {
    let keep = this.#capacity;
    const kept: Entry[] = [];
    for (const e of this.#entries) {
      if (keep > 0 || e.users > 0) {
        kept.push(e);
        keep--;
      } else {
        closeEntry(e);
      }
    }
    this.#entries = kept;
  }

  /** Closes and drops a document this agent will not need again. */
  forget(ref: ObjectRef, runId?: string): void {
    const key = keyOf(ref, runId);
    for (const e of this.#entries.filter((x) => x.key === key)) {
      if (e.users > 0) e.dropped = true;
      else closeEntry(e);
    }
    this.#entries = this.#entries.filter((e) => e.key !== key);
  }

  async close(): Promise<void> {
    const all = this.#entries.splice(0);
    await Promise.allSettled(all.map((e) => e.doc.then((d) => d.close())));
  }
}
