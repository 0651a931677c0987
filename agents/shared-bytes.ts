// Document bytes shared by the agent threads of one host. The agent that splits a document already
// holds its bytes; the agents extracting its chunks would each fetch them again from the object
// store (a consumer created per read, hashing, copies). Instead the bytes go once into a
// SharedArrayBuffer the host keeps (LRU, bounded), and agents on the same host read them from
// there; agents on other hosts, and anything evicted, fall back to the object store. With the bytes
// goes the decompression cap the sharing agent checked them under (agents/pdf/inflate-guard.ts), so
// the agents that read them here do not decode every stream of the document again.
import type { AgentToHost } from "./protocol.ts";

/** Shared bytes, and the decompression cap they were checked under when the sharer had checked them. */
export type Shared<B> = { bytes: B; inflateChecked?: number | undefined };

/** The agent side: what a DocumentCache uses. */
export interface SharedBytes {
  get(key: string): Promise<Shared<Uint8Array> | undefined>;
  /** Shares a copy of `bytes`; returns it (a view on shared memory). */
  put(key: string, bytes: Uint8Array, inflateChecked?: number): Uint8Array;
}

/** Agent side: asks the host over the thread's message port. */
export class SharedBytesClient implements SharedBytes {
  readonly #post: (m: AgentToHost) => void;
  readonly #pending = new Map<number, (shared: Shared<SharedArrayBuffer> | undefined) => void>();
  #next = 0;

  constructor(post: (m: AgentToHost) => void) {
    this.#post = post;
  }

  get(key: string): Promise<Shared<Uint8Array> | undefined> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, (s) => resolve(s && { ...s, bytes: new Uint8Array(s.bytes) }));
      this.#post({ t: "bytes-get", id, key });
    });
  }

  put(key: string, bytes: Uint8Array, inflateChecked?: number): Uint8Array {
    const sab = new SharedArrayBuffer(bytes.length);
    const view = new Uint8Array(sab);
    view.set(bytes);
    this.#post({ t: "bytes-put", key, bytes: sab, ...(inflateChecked !== undefined && { inflateChecked }) });
    return view;
  }

  /** The host's answer to a get. */
  resolve(id: number, shared: Shared<SharedArrayBuffer> | undefined): void {
    const fn = this.#pending.get(id);
    this.#pending.delete(id);
    fn?.(shared);
  }

  /** The host is gone: pending reads find nothing (callers fall back to the object store). */
  close(): void {
    for (const fn of this.#pending.values()) fn(undefined);
    this.#pending.clear();
  }
}

/** Host side: the shared buffers by key, least recently used dropped beyond `maxBytes`. */
export class SharedBytesStore {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Shared<SharedArrayBuffer>>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get size(): number {
    return this.#bytes;
  }

  get(key: string): Shared<SharedArrayBuffer> | undefined {
    const e = this.#entries.get(key);
    if (e) {
      this.#entries.delete(key);
      this.#entries.set(key, e);
    }
    return e;
  }

  put(key: string, sab: SharedArrayBuffer, inflateChecked?: number): void {
    if (sab.byteLength > this.#maxBytes) return;
    this.delete(key);
    this.#entries.set(key, { bytes: sab, ...(inflateChecked !== undefined && { inflateChecked }) });
    this.#bytes += sab.byteLength;
    for (const [k, old] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= old.bytes.byteLength;
    }
  }

  delete(key: string): void {
    const old = this.#entries.get(key);
    if (!old) return;
    this.#entries.delete(key);
    this.#bytes -= old.bytes.byteLength;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}
