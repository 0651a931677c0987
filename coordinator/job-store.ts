// The coordinator's view of jobs: a cache over the jobs bucket with compare-and-set updates. The
// coordinator is the only writer after split creates a job (or a reprocess replaces it), so the
// cached revision is almost always current; on a conflict, or when a change turns out to be a no-op
// on the cached copy, it re-reads and applies the change again.
import type { KV } from "@nats-io/kv";
import { decodeJson, Job } from "../schemas/index.ts";
import { jsonBytes } from "../streams/index.ts";

export type Versioned = { job: Job; revision: number };

export class JobStore {
  readonly #kv: KV;
  readonly #cache = new Map<string, Versioned>();
  readonly #maxCached: number;
  readonly #fence: () => void;

  /** `fence` runs before every write and throws when this writer may no longer write (deposed). */
  constructor(kv: KV, maxCached = 10_000, fence: () => void = () => {}) {
    this.#kv = kv;
    this.#maxCached = maxCached;
    this.#fence = fence;
  }

  /**
   * The job of `docId`, re-read from the bucket when the cached one belongs to another run than
   * `runId` (the document was reprocessed since it was cached).
   */
  async loadRun(docId: string, runId: string): Promise<Versioned | undefined> {
    const cur = await this.load(docId);
    return cur && cur.job.runId !== runId ? this.load(docId, true) : cur;
  }

  async load(docId: string, fresh = false): Promise<Versioned | undefined> {
    if (!fresh) {
      const hit = this.#cache.get(docId);
      if (hit) return hit;
    }
    const e = await this.#kv.get(docId);
    if (e?.operation !== "PUT" || e.value.length === 0) {
      this.#cache.delete(docId);
      return undefined;
    }
    const j = decodeJson(Job, e.value);
    if (!j.ok) return undefined;
    const v = { job: j.value, revision: e.revision };
    this.#remember(docId, v);
    return v;
  }

  /**
   * Applies `change` (which returns the new job, or undefined for "nothing to do") with CAS.
   * Returns the stored result, or undefined when the job is gone or the change was a no-op.
   */
  async update(docId: string, change: (job: Job) => Job | undefined): Promise<Versioned | undefined> {
    let fresh = false;
    for (let attempt = 0; attempt < 8; attempt++) {
      const cur = await this.load(docId, fresh);
      if (!cur) return undefined;
      const next = change(structuredClone(cur.job));
      if (!next) {
        // "Nothing to do" decided on a cached copy may be stale (split wrote a new run meanwhile):
        // decide again on what is stored before dropping the change.
        if (fresh) return cur;
        fresh = true;
        continue;
      }
      fresh = true;
      next.updatedAt = Date.now();
      this.#fence();
      try {
        const revision = await this.#kv.update(docId, jsonBytes(next), cur.revision);
        const v = { job: next, revision };
        this.#remember(docId, v);
        return v;
      } catch {
        // Someone else wrote first (or the cache was stale): read again and retry.
      }
    }
    throw new Error(`job ${docId}: too many conflicting updates`);
  }

  forget(docId: string): void {
    this.#cache.delete(docId);
  }

  #remember(docId: string, v: Versioned): void {
    this.#cache.delete(docId);
    this.#cache.set(docId, v);
    if (this.#cache.size > this.#maxCached) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
  }
}
