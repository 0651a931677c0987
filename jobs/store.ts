// The job store: a cache over the jobs bucket with the one compare-and-set update loop every writer
// of a job uses (split recording a new run, the coordinator counting results). The coordinator is
// the only writer after a run is recorded, so its cached revision is almost always current; on a
// conflict, or when a change turns out to be a no-op on the cached copy, it re-reads and applies the
// change again. A job that ends is written with a per-key TTL (the finished-job window), so the
// bucket holds what is in flight plus that window: the final result stays in the done stream.
//
// Fencing: a leader's store knows its term (the leader lease's revision). Every write stamps the job
// with it, and no change is applied to a job stamped with a newer term. Since a write is a
// compare-and-set on the revision it was computed from, the server refuses a deposed leader's
// write once a newer term has written that job; the re-read then finds the newer term and the old
// leader stops (StaleTermError). A new leader raises the term of every running job before it
// consumes (raiseTerm), so this holds for every job, not only the ones it has touched since.
import type { JetStreamClient, JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { decodeJson, Job } from "../schemas/index.ts";
import {
  ApiCodes,
  BUCKETS,
  isApiError,
  isNoMessage,
  isWrongLastSequence,
  jsonBytes,
  kvPutWithTtl,
  kvStream,
  kvSubject,
} from "../streams/index.ts";
import { JobConflictError, StaleTermError } from "./errors.ts";

export type Versioned = { job: Job; revision: number };

/** A job's last message in the bucket: its operation (PUT, DEL, PURGE), value and revision. */
export type StoredEntry = { operation: string; value: Uint8Array; revision: number };

const ATTEMPTS = 8;

/** Subjects named in one batched direct get (the server takes up to 1024). */
const SUBJECTS_PER_GET = 256;

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
  readonly #term: (() => number) | undefined;
  readonly #beforeWrite: (() => Promise<void>) | undefined;
  readonly #leader: JetStreamManager | undefined;
  readonly #read: ((docId: string) => Promise<StoredEntry | null>) | undefined;
  readonly #finished: { js: JetStreamClient; ttlMs: number } | undefined;
  #ttlRefused = false;

  /**
   * `fence` runs before every write and throws when this writer may no longer write (deposed);
   * `term` is a leader's current term (writes are fenced by it, see above; agents have none);
   * with `finished`, a job that ends is written to expire `ttlMs` later. `beforeWrite` runs between
   * the fence and the write (failure drills hold a write there). With `leader`, fresh reads ask the
   * bucket's stream leader: a direct get may be answered by a replica cut off from its leader, which
   * answers from what it had (a job "missing", or of an older run, and a result dropped for it).
   */
  constructor(
    kv: KV,
    options: {
      maxCached?: number;
      fence?: () => void;
      term?: () => number;
      beforeWrite?: () => Promise<void>;
      finished?: { js: JetStreamClient; ttlMs: number };
      leader?: JetStreamManager;
      /**
       * Reads a job's last message instead of the KV client (agents: a raw direct get, without
       * the request machinery nats.js builds an Error in for every request).
       */
      read?: (docId: string) => Promise<StoredEntry | null>;
    } = {},
  ) {
    this.#kv = kv;
    this.#maxCached = options.maxCached ?? 10_000;
    this.#fence = options.fence ?? (() => {});
    this.#term = options.term;
    this.#beforeWrite = options.beforeWrite;
    this.#leader = options.leader;
    this.#read = options.read;
    this.#finished = options.finished;
  }

  /** Throws StaleTermError when `job` was written by a newer term than this writer's. */
  #checkTerm(job: Job, refusedRevision: number | undefined): void {
    if (!this.#term) return;
    const mine = this.#term();
    if ((job.term ?? 0) > mine) {
      this.#cache.delete(job.docId);
      throw new StaleTermError(job.docId, mine, job.term ?? 0, refusedRevision);
    }
  }

  /**
   * The job of `docId`, re-read from the bucket when the cached one belongs to another run than
   * `runId` (the document was reprocessed since it was cached).
   */
  async loadRun(docId: string, runId: string): Promise<Versioned | undefined> {
    const cur = await this.load(docId);
    // Missing, or of another run: decided on what is stored (with `leader`, on the leader's answer).
    return !cur || cur.job.runId !== runId ? this.load(docId, true) : cur;
  }

  async load(docId: string, fresh = false): Promise<Versioned | undefined> {
    if (!fresh) {
      const hit = this.#cache.get(docId);
      if (hit) return hit;
    }
    const e = fresh && this.#leader ? await this.#fromLeader(docId) : await this.#get(docId);
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

  #get(docId: string): Promise<StoredEntry | null> {
    return this.#read ? this.#read(docId) : this.#kv.get(docId);
  }

  /** The job's last message as the stream leader has it (a message get, not a direct get). */
  async #fromLeader(
    docId: string,
  ): Promise<{ operation: string; value: Uint8Array; revision: number } | undefined> {
    const m = await this.#leader!.streams.getMessage(kvStream(BUCKETS.jobs), {
      last_by_subj: kvSubject(BUCKETS.jobs, docId),
    });
    if (!m) return undefined;
    return { operation: m.header?.get("KV-Operation") || "PUT", value: m.data, revision: m.seq };
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
      // A replacing run keeps the stored term: it is the leaders' fence, not the run's.
      const v = await this.update(job.docId, (cur) =>
        cur.runId !== job.runId && replace
          ? { ...structuredClone(job), ...(cur.term !== undefined && { term: cur.term }) }
          : undefined,
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
    let refused: number | undefined;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const cur = await this.load(docId, fresh);
      if (!cur) {
        // "No job" read from the cache or any replica: confirmed by the leader's answer first.
        if (!fresh && this.#leader) {
          fresh = true;
          continue;
        }
        return undefined;
      }
      // Nothing is derived from a job a newer leader has written, not even "nothing to do".
      this.#checkTerm(cur.job, refused);
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
      if (this.#term) next.term = this.#term();
      this.#fence();
      await this.#beforeWrite?.();
      try {
        const revision = await this.#write(next, cur.revision);
        const v = { job: next, revision };
        this.#remember(docId, v);
        return v;
      } catch (err) {
        // Someone else wrote first (or the cache was stale): read again and retry.
        if (!isWrongLastSequence(err)) throw err;
        refused = cur.revision;
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

  /**
   * A new leader's first act: stamps its term on every running job of `current` (what the bucket
   * holds, readJobs) unless a newer term is there, so from then on the server refuses every job
   * write of an older term. Returns how many it wrote.
   */
  async raiseTerm(current: Versioned[], options: { concurrency?: number } = {}): Promise<number> {
    const term = this.#term?.();
    if (!term) return 0;
    const todo = current.filter((v) => v.job.status === "running" && (v.job.term ?? 0) < term);
    let raised = 0;
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const v = todo[next++]!;
        // What was just read is the revision to write over (the cache may be from an earlier term).
        this.#remember(v.job.docId, v);
        let wrote = false;
        await this.update(v.job.docId, (job) => {
          wrote = job.status === "running" && (job.term ?? 0) < term;
          return wrote ? job : undefined;
        });
        if (wrote) raised++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 32, todo.length) }, worker));
    return raised;
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

/**
 * Every job the bucket holds, with its revision: the subjects from stream info (the leader's), then
 * their last messages by batched direct gets, and from the leader what those left out. None of it
 * creates a consumer.
 */
export async function readJobs(jsm: JetStreamManager): Promise<Versioned[]> {
  const stream = kvStream(BUCKETS.jobs);
  const info = await jsm.streams.info(stream, { subjects_filter: kvSubject(BUCKETS.jobs, ">") });
  const names = Object.keys(info.state.subjects ?? {});
  const out: Versioned[] = [];
  for (let i = 0; i < names.length; i += SUBJECTS_PER_GET) {
    const multi_last = names.slice(i, i + SUBJECTS_PER_GET);
    const seen = new Set<string>();
    const add = (m: StoredMsg) => {
      seen.add(m.subject);
      const op = m.header?.get("KV-Operation");
      if (op === "DEL" || op === "PURGE" || m.data.length === 0) return;
      const j = decodeJson(Job, m.data);
      if (j.ok) out.push({ job: j.value, revision: m.seq });
    };
    try {
      const iter = await jsm.direct.getLastMessagesFor(stream, { multi_last, batch: multi_last.length });
      for await (const m of iter) add(m);
    } catch (err) {
      if (!isNoMessage(err)) throw err;
    }
    // A replica cut off from its leader answers from what it had: what it left out, the leader says.
    for (const subject of multi_last) {
      if (seen.has(subject)) continue;
      const m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
      if (m) add(m);
    }
  }
  return out;
}
