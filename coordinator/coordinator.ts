// The coordinator: follows the results stream with its own durable consumer (so whoever runs it
// next resumes exactly where the last one stopped), keeps per-document progress in the jobs bucket,
// publishes progress events, releases the merge task when every chunk is in, and writes the final
// failure of a document when one of its tasks failed for good. Every effect is idempotent and is
// derived again from stored state when a result is redelivered, so a crash at any point is safe.

import { hostname } from "node:os";
import type { JetStreamManager } from "@nats-io/jetstream";
import {
  type Consumer,
  type JetStreamClient,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  CoordinatorConfig,
  type CoordinatorOptionsInput,
  type CoordinatorStatus,
  decodeJson,
  type ErrorInfo,
  type FinalResult,
  type Job,
  type MergeInput,
  SplitFailure,
  SplitOutput,
  type Task,
  TaskResult,
  validate,
} from "../schemas/index.ts";
import {
  COORDINATOR_CONSUMER,
  connectNats,
  jsonBytes,
  openState,
  publishFinal,
  STREAMS,
  type SwarmState,
  subjects,
  taskId,
} from "../streams/index.ts";
import { LeaderDuties } from "./duties.ts";
import { publishEvent } from "./events.ts";
import { JobStore } from "./job-store.ts";
import { LeaderElection, NotLeaderError } from "./leader.ts";

export type CoordinatorOptions = {
  servers: string | string[];
  /** This coordinator's name in the leader lease; unique per process by default. */
  id?: string;
  config?: CoordinatorOptionsInput;
  onLog?: (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
};

let coordinatorCounter = 0;

const TERMINAL = new Set<Job["status"]>(["done", "failed"]);

export class Coordinator {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #state: SwarmState;
  readonly #jobs: JobStore;
  readonly #log: NonNullable<CoordinatorOptions["onLog"]>;
  readonly #maxPayload: number;
  readonly #config: CoordinatorConfig;
  readonly #election: LeaderElection;
  #messages: Awaited<ReturnType<Consumer["consume"]>> | undefined;
  #loop: Promise<void> | undefined;
  #duties: LeaderDuties | undefined;
  #closing: Promise<void> | undefined;

  private constructor(
    nc: NatsConnection,
    jsm: JetStreamManager,
    state: SwarmState,
    options: CoordinatorOptions,
  ) {
    this.#nc = nc;
    this.#js = jetstream(nc);
    this.#jsm = jsm;
    this.#state = state;
    this.#log = options.onLog ?? (() => {});
    this.#maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    this.#config = CoordinatorConfig.parse(options.config ?? {});
    this.#election = new LeaderElection({
      js: this.#js,
      kv: state.leases,
      candidateId:
        options.id ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, "_")}-${process.pid}-c${coordinatorCounter++}`,
      ttlMs: this.#config.leaderTtlMs,
      renewMs: this.#config.leaderRenewMs,
      pollMs: this.#config.standbyPollMs,
      onElected: (term) => this.#lead(term),
      onDeposed: (term, reason) => this.#standDown(term, reason),
      onLog: this.#log,
    });
    this.#jobs = new JobStore(state.jobs, 10_000, () => this.#election.fence());
  }

  /** Connects and campaigns; resolves once the first election round is over (leader or standby). */
  static async start(options: CoordinatorOptions): Promise<Coordinator> {
    const nc = await connectNats({ servers: options.servers, name: "docswarm-coordinator" });
    try {
      const js = jetstream(nc);
      const c = new Coordinator(nc, await jetstreamManager(nc), await openState(js), options);
      await c.#election.start();
      return c;
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  get id(): string {
    return this.#election.candidateId;
  }

  /** True while this coordinator leads (holds an unexpired leader lease). */
  get isLeader(): boolean {
    return this.#election.isLeader;
  }

  get term(): number {
    return this.#election.term;
  }

  async #lead(term: number): Promise<void> {
    if (this.#closing) return;
    try {
      await this.#startLeading(term);
    } catch (err) {
      this.#log("error", "could not start leading; resigning", { err: (err as Error).message });
      await this.#standDown(term, "could not start leading").catch(() => {});
      await this.#election.resign("could not start leading");
    }
  }

  async #startLeading(term: number): Promise<void> {
    // Both at once: a new leader should be consuming again as soon as it can.
    const [run, duties] = await Promise.allSettled([
      this.#run(),
      LeaderDuties.start({
        nc: this.#nc,
        js: this.#js,
        jsm: this.#jsm,
        state: this.#state,
        config: this.#config,
        coordinatorId: this.id,
        term,
        leaderSince: this.#election.leaderSince ?? Date.now(),
        fence: () => this.#election.fence(),
        log: this.#log,
      }),
    ]);
    if (duties.status === "fulfilled") this.#duties = duties.value;
    if (run.status === "rejected") throw run.reason;
    if (duties.status === "rejected") throw duties.reason;
    publishEvent(this.#nc, { type: "coordinator.elected", at: Date.now(), coordinatorId: this.id, term });
  }

  /** Stops acting as leader: no more results consumed, no more writes. */
  async #standDown(term: number, reason: string): Promise<void> {
    const messages = this.#messages;
    this.#messages = undefined;
    await messages?.close().catch(() => {});
    await this.#loop?.catch(() => {});
    await this.#duties?.close();
    this.#duties = undefined;
    publishEvent(this.#nc, {
      type: "coordinator.deposed",
      at: Date.now(),
      coordinatorId: this.id,
      term,
      reason,
    });
  }

  async #run(): Promise<void> {
    const consumer = await this.#js.consumers.get(STREAMS.results, COORDINATOR_CONSUMER);
    // Small batches: whatever a crashed leader had pulled waits out the ack wait before its successor
    // gets it, and handling a batch must stay well inside that ack wait.
    const messages = await consumer.consume({ max_messages: 64 });
    this.#messages = messages;
    this.#loop = (async () => {
      for await (const m of messages) {
        if (!this.#election.isLeader) {
          // Deposed (or our lease may have lapsed): hand it straight to the next leader.
          m.nak();
          continue;
        }
        try {
          await this.#handle(m);
          m.ack();
        } catch (err) {
          if (err instanceof NotLeaderError) {
            m.nak();
            continue;
          }
          this.#log("error", "could not process a result; it will be redelivered", {
            err: (err as Error).message,
          });
          m.nak(1000);
        }
      }
    })();
  }

  async #handle(m: JsMsg): Promise<void> {
    const decoded = decodeJson(TaskResult, m.data);
    if (!decoded.ok) {
      this.#log("warn", "invalid result message dropped", { subject: m.subject, error: decoded.message });
      return;
    }
    const r = decoded.value;
    if (m.subject !== subjects.result(r.docId)) {
      this.#log("warn", "result published on another document's subject dropped", {
        subject: m.subject,
        docId: r.docId,
      });
      return;
    }
    if (r.status === "failed") return this.#onFailed(r);
    let cur = await this.#jobs.load(r.docId);
    // A cached job of another run may be stale (a reprocess replaced it): check what is stored.
    if (!cur || cur.job.runId !== r.runId) cur = await this.#jobs.load(r.docId, true);
    if (!cur || cur.job.runId !== r.runId) {
      this.#log("debug", "result of an unknown or older run ignored", { docId: r.docId, runId: r.runId });
      return;
    }
    switch (r.stage) {
      case "split":
        return this.#onSplit(r, cur.job);
      case "merge":
        return this.#onMerged(r);
      default:
        return this.#onChunk(r);
    }
  }

  async #onSplit(r: TaskResult, job: Job): Promise<void> {
    const out = validate(SplitOutput, r.output);
    if (!out.ok) {
      // Would fail the same way on every redelivery: drop it rather than loop.
      this.#log("warn", "split result with an invalid output dropped", {
        docId: r.docId,
        error: out.message,
      });
      return;
    }
    publishEvent(this.#nc, {
      type: "doc.accepted",
      at: Date.now(),
      docId: job.docId,
      runId: job.runId,
      priority: job.priority,
      pageCount: job.pageCount,
      chunks: job.chunks.length,
    });
    if (job.chunks.length === 0) await this.#advance(job.docId);
  }

  async #onChunk(r: TaskResult): Promise<void> {
    const updated = await this.#jobs.update(r.docId, (job) => {
      if (job.runId !== r.runId || job.status !== "running" || job.chunksDone.includes(r.index))
        return undefined;
      const range = job.chunks.find((c) => c.index === r.index);
      if (!range) return undefined;
      job.chunksDone.push(r.index);
      job.pagesDone += range.lastPage - range.firstPage + 1;
      job.stageMs[r.stage] = (job.stageMs[r.stage] ?? 0) + Math.max(0, r.finishedAt - r.startedAt);
      return job;
    });
    if (!updated) return;
    const { job } = updated;
    publishEvent(this.#nc, {
      type: "doc.progress",
      at: Date.now(),
      docId: job.docId,
      stage: r.stage,
      done: job.chunksDone.length,
      total: job.chunks.length,
      pagesDone: job.pagesDone,
      pageCount: job.pageCount,
    });
    await this.#advance(job.docId);
  }

  /** When every chunk is in: mark the job merging, then (re)publish its merge task (deduplicated). */
  async #advance(docId: string): Promise<void> {
    const v = await this.#jobs.update(docId, (job) =>
      job.status === "running" && job.chunksDone.length >= job.chunks.length
        ? { ...job, status: "merging" }
        : undefined,
    );
    if (v?.job.status !== "merging") return;
    const job = v.job;
    const id = taskId(job.docId, job.runId, "merge", 0);
    const task: Task = {
      v: 1,
      taskId: id,
      docId: job.docId,
      runId: job.runId,
      stage: "merge",
      priority: job.priority,
      index: 0,
      input: { chunks: job.chunks.length, pageCount: job.pageCount } satisfies MergeInput,
      createdAt: Date.now(),
    };
    this.#election.fence();
    await this.#js.publish(subjects.task("merge", job.priority), jsonBytes(task), { msgID: id });
  }

  async #onMerged(r: TaskResult): Promise<void> {
    const v = await this.#jobs.update(r.docId, (job) =>
      // The run check matters when a reprocess started a new run since we last read the job.
      TERMINAL.has(job.status) || job.runId !== r.runId
        ? undefined
        : {
            ...job,
            status: "done",
            finishedAt: r.finishedAt,
            stageMs: { ...job.stageMs, merge: Math.max(0, r.finishedAt - r.startedAt) },
          },
    );
    if (!v || v.job.runId !== r.runId || v.job.status !== "done") return;
    publishEvent(this.#nc, {
      type: "doc.done",
      at: Date.now(),
      docId: r.docId,
      pageCount: v.job.pageCount,
      totalMs: Math.max(0, (v.job.finishedAt ?? Date.now()) - v.job.submittedAt),
    });
    await this.#cleanup(v.job);
  }

  async #onFailed(r: TaskResult): Promise<void> {
    const error: ErrorInfo = r.error ?? {
      code: "INTERNAL",
      message: "task failed without an error",
      retryable: false,
    };
    let cur = await this.#jobs.load(r.docId);
    if (cur && cur.job.runId !== r.runId) cur = await this.#jobs.load(r.docId, true);
    if (cur && cur.job.runId !== r.runId) {
      // A second submission of a document that already has a job failed (bad headers, say):
      // the existing job and its result stand.
      this.#log("info", "failed resubmission ignored; the document keeps its job", {
        docId: r.docId,
        code: error.code,
      });
      return;
    }
    const splitInfo = validate(SplitFailure, r.output);
    const job = cur?.job;
    const now = Date.now();
    const submittedAt = job?.submittedAt ?? (splitInfo.ok ? splitInfo.value.submittedAt : r.startedAt);
    const final: FinalResult = {
      v: 1,
      docId: r.docId,
      status: "failed",
      source: job?.source ?? (splitInfo.ok ? splitInfo.value.source : null),
      pageCount: job?.pageCount ?? 0,
      pages: [],
      meta: job?.meta ?? null,
      timings: {
        submittedAt,
        finishedAt: now,
        totalMs: Math.max(0, now - submittedAt),
        stageMs: job?.stageMs ?? {},
      },
      chunks: job?.chunks.length ?? 0,
      error,
    };
    // The final result first: if we crash after it, the redelivered result finds it there.
    this.#election.fence();
    const { outcome } = await publishFinal(this.#js, final, r.runId, this.#maxPayload);
    if (job) {
      await this.#jobs.update(r.docId, (j) =>
        TERMINAL.has(j.status) || j.runId !== r.runId
          ? undefined
          : { ...j, status: "failed", finishedAt: now, error },
      );
    }
    if (outcome === "published") {
      publishEvent(this.#nc, {
        type: "doc.failed",
        at: now,
        docId: r.docId,
        pageCount: final.pageCount,
        totalMs: final.timings.totalMs,
        error,
      });
    }
    // A dead-lettered document keeps its bytes, so `docswarm dlq requeue` can process it again.
    if (job) await this.#cleanup(job, { keepBytes: error.code === "MAX_DELIVERIES" });
  }

  /** A finished document's chunk results and bytes are no longer needed. */
  async #cleanup(job: Job, options: { keepBytes?: boolean } = {}): Promise<void> {
    this.#jobs.forget(job.docId);
    await Promise.allSettled([
      this.#jsm.streams.purge(STREAMS.results, { filter: subjects.result(job.docId) }),
      options.keepBytes ? Promise.resolve() : this.#state.docs.delete(job.object.name),
    ]);
  }

  /** The leader's status (agents live and lost, dead letters); undefined on a standby. */
  status(): CoordinatorStatus | undefined {
    return this.#duties?.status();
  }

  /**
   * Stops. By default a leader stands down and releases its lease so a standby takes over at once;
   * `releaseLeadership: false` leaves the lease to lapse, as a crash would (for failover tests).
   */
  close(options: { releaseLeadership?: boolean } = {}): Promise<void> {
    this.#closing ??= (async () => {
      if (options.releaseLeadership === false) {
        await this.#election.close({ release: false });
        await this.#standDown(this.#election.term, "closed").catch(() => {});
      } else {
        if (this.#messages || this.#duties)
          await this.#standDown(this.#election.term, "closed").catch(() => {});
        await this.#election.close({ release: true });
      }
      await this.#nc.drain().catch(() => {});
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
