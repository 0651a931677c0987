// The job store: a cache over the jobs bucket with the one compare-and-set update loop every writer
// of a job uses (split recording a new run, the coordinator counting results). The coordinator is
// the only writer after a run is recorded, so its cached revision is almost always current; on a
// conflict, or when a change turns out to be a no-op on the cached copy, it re-reads and applies the
// change again. A job that ends is written with a per-key TTL (the finished-job window), so the
// bucket holds what is in flight plus that window: the final result stays in the done stream.
import type { JetStreamClient } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { decodeJson, Job } from "../schemas/index.ts";
import {
  ApiCodes,
  BUCKETS,
  isApiError,
  isWrongLastSequence,
  jsonBytes,
  kvPutWithTtl,
} from "../streams/index.ts";
import { JobConflictError } from "./errors.ts";

export type Versioned = { job: Job; revision: number };

const ATTEMPTS = 8;

/**
 * Whether a job that ended leaves the bucket after the finished-job window. A dead-lettered
 * document's job stays (up to the bucket's max age): `docswarm dlq requeue` finds its bytes by it.
 */
function leavesAfterWindow(job: Job): boolean {
  return job.status !== "running" && job.error?.code !== "MAX_DELIVERIES";
}

export class JobStore {
  readonly #kv: KV;
  readonly #cache = new Map<string, Versioned>();
  readonly #maxCached: number;
  readonly #fence: () => void;
  readonly #finished: { js: JetStreamClient; ttlMs: number } | undefined;
  #ttlRefused = false;

  /**
   * `fence` runs before every write and throws when this writer may no longer write (deposed);
   * with `finished`, a job that ends is written to expire `ttlMs` later.
   */
  constructor(
    kv: KV,
    options: {
      maxCached?: number;
      fence?: () => void;
      finished?: { js: JetStreamClient; ttlMs: number };
    } = {},
  ) {
    this.#kv = kv;
    this.#maxCached = options.maxCached ?? 10_000;
    this.#fence = options.fence ?? (() => {});
    this.#finished = options.finished;
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
   * Records a new run's job: created when the document has none; otherwise, with `replace` (a
   * reprocess), written over the stored job of another run. Returns what is stored afterwards: this
   * run's job (created now, or by an earlier delivery of the same submission, whose plan then
   * stands), or another run's job that keeps the document (without `replace`).
   */
  async record(job: Job, replace: boolean): Promise<Versioned> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      this.#fence();
      try {
        const revision = await this.#kv.create(job.docId, jsonBytes(job));
        const v = { job, revision };
        this.#remember(job.docId, v);
        return v;
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
      const v = await this.update(job.docId, (cur) =>
        cur.runId !== job.runId && replace ? structuredClone(job) : undefined,
      );
      if (v) return v;
      // Gone between create and read (finished and removed): create again.
    }
    throw new JobConflictError(job.docId);
  }

  /**
   * Applies `change` (which returns the new job, or undefined for "nothing to do") with CAS.
   * Returns the stored result (the unchanged job when there was nothing to do), or undefined when
   * the document has no job.
   */
  async update(docId: string, change: (job: Job) => Job | undefined): Promise<Versioned | undefined> {
    let fresh = false;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
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
        const revision = await this.#write(next, cur.revision);
        const v = { job: next, revision };
        this.#remember(docId, v);
        return v;
      } catch (err) {
        // Someone else wrote first (or the cache was stale): read again and retry.
        if (!isWrongLastSequence(err)) throw err;
      }
    }
    throw new JobConflictError(docId);
  }

  async #write(job: Job, revision: number): Promise<number> {
    const finished = this.#finished;
    if (finished && !this.#ttlRefused && leavesAfterWindow(job)) {
      try {
        return await kvPutWithTtl(finished.js, BUCKETS.jobs, job.docId, job, finished.ttlMs, revision);
      } catch (err) {
        // A bucket of the v1 layout has no per-key TTLs (docswarm init migrates it): jobs stay.
        if (!isApiError(err, ApiCodes.MessageTtlDisabled)) throw err;
        this.#ttlRefused = true;
      }
    }
    return this.#kv.update(job.docId, jsonBytes(job), revision);
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
