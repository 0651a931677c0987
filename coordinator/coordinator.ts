// The coordinator: follows the results stream with its own durable consumer (so whoever runs it
// next resumes exactly where the last one stopped), and drives every job's task graph from the
// results: it counts each task once in the job (compare-and-set), releases the tasks whose
// dependencies are all done, publishes progress events, and when a task fails for good fails the
// job, its dependents and writes the final failure. Every effect is idempotent and derived again
// from stored state when a result is redelivered, so a crash at any point is safe.

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
import { dependentsOf, endDocument, isComplete, JobStore, publishTasks, releasedBy } from "../jobs/index.ts";
import {
  extractTraceContext,
  observeTaskResult,
  readGaugeSnapshot,
  registerSwarmGauges,
  SpanKind,
  withSpan,
  withTraceHeaders,
} from "../observability/index.ts";
import {
  type AutoscalerOptions,
  CoordinatorConfig,
  type CoordinatorOptionsInput,
  type CoordinatorStatus,
  decodeJson,
  type ErrorInfo,
  type FinalResult,
  type Job,
  type JobResult,
  type NatsAuth,
  SplitFailure,
  TaskResult,
  validate,
} from "../schemas/index.ts";
import {
  COORDINATOR_CONSUMER,
  connectNats,
  drainConnection,
  JOBS_CONSUMER,
  openState,
  publisherFor,
  retryJetStream,
  STREAMS,
  type SwarmState,
  subjects,
} from "../streams/index.ts";
import { Autoscaler } from "./autoscaler.ts";
import { Capabilities } from "./capabilities.ts";
import { acceptJobSpec } from "./dag-jobs.ts";
import { LeaderDuties } from "./duties.ts";
import { NotLeaderError } from "./errors.ts";
import { publishEvent } from "./events.ts";
import { LeaderElection } from "./leader.ts";
import { sinkOutputs } from "./outputs.ts";

export type CoordinatorOptions = {
  servers: string | string[];
  /** Credentials and TLS (the coordinator role). */
  auth?: NatsAuth;
  /** This coordinator's name in the leader lease; unique per process by default. */
  id?: string;
  /** Leader lease timing, unknown-stage grace, ... */
  config?: CoordinatorOptionsInput;
  /** Run the autoscaler (decisions into the scale bucket) with these settings. */
  autoscale?: AutoscalerOptions;
  onLog?: (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
};

export type CoordinatorContext = {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  state: SwarmState;
  jobs: JobStore;
  capabilities: Capabilities;
  maxPayloadBytes: number;
  log: NonNullable<CoordinatorOptions["onLog"]>;
  /** Throws NotLeaderError when this coordinator may no longer write (it was deposed). */
  fence(): void;
  publishTasks(job: Job, keys: string[]): Promise<void>;
};

let coordinatorCounter = 0;

export class Coordinator {
  readonly #ctx: CoordinatorContext;
  readonly #options: CoordinatorOptions;
  readonly #config: CoordinatorConfig;
  readonly #election: LeaderElection;
  #duties: LeaderDuties | undefined;
  #consumers: Array<Awaited<ReturnType<Consumer["consume"]>>> = [];
  #loops: Promise<void>[] = [];
  #closing: Promise<void> | undefined;
  #autoscaler: Autoscaler | undefined;
  #unregisterGauges: (() => void) | undefined;

  private constructor(
    nc: NatsConnection,
    jsm: JetStreamManager,
    state: SwarmState,
    options: CoordinatorOptions,
  ) {
    const js = jetstream(nc);
    const log = options.onLog ?? (() => {});
    this.#options = options;
    this.#config = CoordinatorConfig.parse(options.config ?? {});
    this.#election = new LeaderElection({
      js,
      kv: state.leases,
      candidateId:
        options.id ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, "_")}-${process.pid}-c${coordinatorCounter++}`,
      ttlMs: this.#config.leaderTtlMs,
      renewMs: this.#config.leaderRenewMs,
      pollMs: this.#config.standbyPollMs,
      onElected: (term) => this.#lead(term),
      onDeposed: (term, reason) => this.#standDown(term, reason),
      onLog: log,
    });
    const fence = () => this.#election.fence();
    this.#ctx = {
      nc,
      js,
      jsm,
      state,
      jobs: new JobStore(state.jobs, { maxCached: 10_000, fence }),
      capabilities: new Capabilities(nc, jsm),
      maxPayloadBytes: nc.info?.max_payload ?? 1024 * 1024,
      log,
      fence,
      publishTasks: async (job, keys) => {
        if (keys.length === 0) return;
        fence();
        // Released tasks continue the trace of the result that released them (the gather span).
        await publishTasks(publisherFor(nc), job, keys, withTraceHeaders);
      },
    };
  }

  /**
   * Connects and campaigns; resolves once the first election round is over (leader or standby).
   * Several coordinators may run: one leads (consumes results and job submissions, watches agents,
   * dead-letters, autoscales), the others wait to take over.
   */
  static async start(options: CoordinatorOptions): Promise<Coordinator> {
    const nc = await connectNats({ ...options.auth, servers: options.servers, name: "docswarm-coordinator" });
    try {
      const js = jetstream(nc);
      // A cluster may be electing leaders as we start: wait that out instead of dying.
      const c = new Coordinator(
        nc,
        await retryJetStream(() => jetstreamManager(nc)),
        await retryJetStream(() => openState(js)),
        options,
      );
      // Swarm-wide gauges are read at scrape time from NATS, on any coordinator.
      c.#unregisterGauges = registerSwarmGauges(() => readGaugeSnapshot(c.#ctx.jsm));
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
      this.#ctx.log("error", "could not start leading; resigning", { err: (err as Error).message });
      await this.#standDown(term, "could not start leading").catch(() => {});
      await this.#election.resign("could not start leading");
    }
  }

  async #startLeading(term: number): Promise<void> {
    const c = this.#ctx;
    // The gather span continues the trace of the task that produced each result.
    await this.#consume(STREAMS.results, COORDINATOR_CONSUMER, (m) =>
      withSpan("docswarm.gather", { kind: SpanKind.CONSUMER, parent: extractTraceContext(m.headers) }, () =>
        this.#onResult(m),
      ),
    );
    await this.#consume(STREAMS.submit, JOBS_CONSUMER, (m) => acceptJobSpec(c, m));
    if (this.#options.autoscale)
      this.#autoscaler = new Autoscaler(c.nc, c.jsm, c.state.scale, this.#options.autoscale);
    this.#duties = await LeaderDuties.start({
      nc: c.nc,
      js: c.js,
      jsm: c.jsm,
      state: c.state,
      config: this.#config,
      coordinatorId: this.id,
      term,
      leaderSince: this.#election.leaderSince ?? Date.now(),
      fence: c.fence,
      log: c.log,
    });
    publishEvent(c.nc, { type: "coordinator.elected", at: Date.now(), coordinatorId: this.id, term });
  }

  /** Stops acting as leader: nothing more consumed, no more writes. */
  async #standDown(term: number, reason: string): Promise<void> {
    const consumers = this.#consumers.splice(0);
    await Promise.all(consumers.map((m) => m.close().catch(() => {})));
    await Promise.allSettled(this.#loops.splice(0));
    await this.#autoscaler?.close();
    this.#autoscaler = undefined;
    await this.#duties?.close();
    this.#duties = undefined;
    publishEvent(this.#ctx.nc, {
      type: "coordinator.deposed",
      at: Date.now(),
      coordinatorId: this.id,
      term,
      reason,
    });
  }

  async #consume(stream: string, durable: string, handle: (m: JsMsg) => Promise<void>): Promise<void> {
    const consumer = await this.#ctx.js.consumers.get(stream, durable);
    // Small batches: what a crashed leader had pulled waits out the ack wait before its successor
    // gets it, and handling a batch must stay well inside that ack wait.
    // Pull requests expire after 5 s: one lost with its consumer's leader (a cluster node died) is
    // noticed after two missed heartbeats, 5 s, instead of the client's default 30 s.
    const messages = await consumer.consume({ max_messages: 64, expires: 5000 });
    this.#consumers.push(messages);
    this.#loops.push(
      (async () => {
        for await (const m of messages) {
          if (!this.#election.isLeader) {
            // Deposed (or our lease may have lapsed): hand it straight to the next leader.
            m.nak();
            continue;
          }
          try {
            await handle(m);
            m.ack();
          } catch (err) {
            if (err instanceof NotLeaderError) {
              m.nak();
              continue;
            }
            this.#ctx.log("error", "could not process a message; it will be redelivered", {
              stream,
              err: (err as Error).message,
            });
            m.nak(1000);
          }
        }
      })(),
    );
  }

  async #onResult(m: JsMsg): Promise<void> {
    const decoded = decodeJson(TaskResult, m.data);
    if (!decoded.ok) {
      this.#ctx.log("warn", "invalid result message dropped", { subject: m.subject, error: decoded.message });
      return;
    }
    const r = decoded.value;
    const key = `${r.stage}.${r.index}`;
    if (m.subject !== subjects.result(r.docId, key)) {
      this.#ctx.log("warn", "result published on another task's subject dropped", {
        subject: m.subject,
        docId: r.docId,
      });
      return;
    }
    observeTaskResult(r);
    if (r.status === "failed") return this.#onFailed(r, key);
    const cur = await this.#ctx.jobs.loadRun(r.docId, r.runId);
    if (!cur || cur.job.runId !== r.runId) {
      this.#ctx.log("debug", "result of an unknown or older run ignored", { docId: r.docId, runId: r.runId });
      return;
    }
    if (r.stage === "split") {
      const job = cur.job;
      // A split result can come late: its first holder died after publishing the tasks, and the
      // redelivery reports it once the document may be finished. Nothing to announce then.
      if (job.status !== "running") return;
      publishEvent(this.#ctx.nc, {
        type: "doc.accepted",
        at: Date.now(),
        docId: job.docId,
        runId: job.runId,
        priority: job.priority,
        pageCount: job.pageCount,
        chunks: job.chunks.length,
      });
      const first = Object.entries(job.tasks).filter(([, t]) => t.state === "released");
      await this.#ctx.capabilities.check(
        job.docId,
        first.map(([, t]) => t),
      );
      return;
    }
    await this.#onDone(r, key);
  }

  async #onDone(r: TaskResult, key: string): Promise<void> {
    const ctx = this.#ctx;
    const v = await ctx.jobs.update(r.docId, (job) => {
      const t = job.tasks[key];
      if (
        job.runId !== r.runId ||
        job.status !== "running" ||
        !t ||
        t.state === "done" ||
        t.state === "failed"
      )
        return undefined;
      t.state = "done";
      job.stageMs[r.stage] = (job.stageMs[r.stage] ?? 0) + Math.max(0, r.finishedAt - r.startedAt);
      if (t.stage === "extract") {
        const range = job.chunks.find((c) => c.index === t.index);
        if (range) job.pagesDone += range.lastPage - range.firstPage + 1;
      }
      for (const k of releasedBy(job, key)) job.tasks[k]!.state = "released";
      if (isComplete(job)) {
        job.status = "done";
        job.finishedAt = r.finishedAt;
      }
      return job;
    });
    if (!v || v.job.runId !== r.runId) return;
    const job = v.job;
    // Derived from state, so a redelivered result republishes (deduplicated) what it released.
    const released = job.status === "running" ? releasedBy(job, key) : [];
    await ctx.publishTasks(job, released);
    await ctx.capabilities.check(
      job.docId,
      released.map((k) => job.tasks[k]!),
    );
    const tasks = Object.values(job.tasks);
    publishEvent(ctx.nc, {
      type: "doc.progress",
      at: Date.now(),
      docId: job.docId,
      stage: r.stage,
      done: tasks.filter((t) => t.state === "done").length,
      total: tasks.length,
      pagesDone: job.pagesDone,
      pageCount: job.pageCount,
      chunkPages: r.stage === "extract" ? pagesOf(job, r.index) : 0,
    });
    if (job.status === "done") await this.#finish(job);
  }

  /** A finished job: DAG jobs get their result published here (documents' merge published theirs). */
  async #finish(job: Job): Promise<void> {
    const ctx = this.#ctx;
    const finishedAt = job.finishedAt ?? Date.now();
    if (job.kind === "dag") {
      const result: JobResult = {
        v: 1,
        kind: "job",
        jobId: job.docId,
        status: "done",
        outputs: await sinkOutputs(ctx.jsm, ctx.state.results, job),
        timings: {
          submittedAt: job.submittedAt,
          finishedAt,
          totalMs: Math.max(0, finishedAt - job.submittedAt),
        },
      };
      ctx.fence();
      await endDocument(ctx.js, { kind: "job", result, runId: job.runId }, ctx.maxPayloadBytes);
    }
    publishEvent(ctx.nc, {
      type: "doc.done",
      at: Date.now(),
      docId: job.docId,
      pageCount: job.pageCount,
      totalMs: Math.max(0, finishedAt - job.submittedAt),
    });
    await this.#cleanup(job);
  }

  async #onFailed(r: TaskResult, key: string): Promise<void> {
    const ctx = this.#ctx;
    const cause: ErrorInfo = r.error ?? {
      code: "INTERNAL",
      message: "task failed without an error",
      retryable: false,
    };
    const cur = await ctx.jobs.loadRun(r.docId, r.runId);
    if (cur && cur.job.runId !== r.runId) {
      // A second submission of a document that already has a job failed (bad headers, say):
      // the existing job and its result stand.
      ctx.log("info", "failed resubmission ignored; the document keeps its job", {
        docId: r.docId,
        code: cause.code,
      });
      return;
    }
    publishEvent(ctx.nc, {
      type: "task.failed",
      at: Date.now(),
      docId: r.docId,
      taskId: r.taskId,
      stage: r.stage,
      agentId: r.agentId,
      delivery: r.delivery,
      error: cause,
    });
    const error: ErrorInfo =
      r.stage === "split" ? cause : { ...cause, message: `${key} failed: ${cause.message}` };
    const now = Date.now();
    let job = cur?.job;
    if (job) {
      const v = await ctx.jobs.update(r.docId, (j) => {
        // The run check matters when a reprocess started a new run since we last read the job.
        if (j.status !== "running" || j.runId !== r.runId) return undefined;
        const failed = j.tasks[key];
        if (failed) {
          failed.state = "failed";
          failed.error = cause;
        }
        for (const d of dependentsOf(j, key)) {
          j.tasks[d]!.state = "failed";
          j.tasks[d]!.error = {
            code: "DEPENDENCY_FAILED",
            message: `depends on ${key}, which failed: ${cause.code}`,
            retryable: false,
          };
        }
        return { ...j, status: "failed", finishedAt: now, error };
      });
      job = v?.job ?? job;
    }
    const splitInfo = validate(SplitFailure, r.output);
    const submittedAt = job?.submittedAt ?? (splitInfo.ok ? splitInfo.value.submittedAt : r.startedAt);
    const timings = { submittedAt, finishedAt: now, totalMs: Math.max(0, now - submittedAt) };
    // The final result first: if we crash after it, the redelivered result finds it there.
    ctx.fence();
    const { outcome } = await endDocument(
      ctx.js,
      job?.kind === "dag"
        ? {
            kind: "job",
            result: { v: 1, kind: "job", jobId: r.docId, status: "failed", outputs: {}, timings, error },
            runId: r.runId,
          }
        : { kind: "document", final: this.#failedDocument(r, job, error, timings), runId: r.runId },
      ctx.maxPayloadBytes,
    );
    if (outcome === "published") {
      publishEvent(ctx.nc, {
        type: "doc.failed",
        at: now,
        docId: r.docId,
        pageCount: job?.pageCount ?? 0,
        totalMs: timings.totalMs,
        error,
      });
    }
    // A dead-lettered document keeps its bytes, so `docswarm dlq requeue` can process it again.
    if (job && job.runId === r.runId)
      await this.#cleanup(job, { keepBytes: error.code === "MAX_DELIVERIES" });
  }

  #failedDocument(
    r: TaskResult,
    job: Job | undefined,
    error: ErrorInfo,
    t: { submittedAt: number; finishedAt: number; totalMs: number },
  ): FinalResult {
    const splitInfo = validate(SplitFailure, r.output);
    return {
      v: 1,
      kind: "document",
      docId: r.docId,
      status: "failed",
      source: job?.source ?? (splitInfo.ok ? splitInfo.value.source : null),
      pageCount: job?.pageCount ?? 0,
      pages: [],
      meta: job?.meta ?? null,
      timings: { ...t, stageMs: job?.stageMs ?? {} },
      chunks: job?.chunks.length ?? 0,
      error,
    };
  }

  /** A finished job's task results and document bytes are no longer needed. */
  async #cleanup(job: Job, options: { keepBytes?: boolean } = {}): Promise<void> {
    this.#ctx.jobs.forget(job.docId);
    await Promise.allSettled([
      this.#ctx.jsm.streams.purge(STREAMS.results, { filter: subjects.results(job.docId) }),
      job.object && !options.keepBytes ? this.#ctx.state.docs.delete(job.object.name) : Promise.resolve(),
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
      this.#unregisterGauges?.();
      if (options.releaseLeadership === false) {
        await this.#election.close({ release: false });
        await this.#standDown(this.#election.term, "closed").catch(() => {});
      } else {
        if (this.#consumers.length > 0 || this.#duties) {
          await this.#standDown(this.#election.term, "closed").catch(() => {});
        }
        await this.#election.close({ release: true });
      }
      await drainConnection(this.#ctx.nc);
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function pagesOf(job: Job, index: number): number {
  const range = job.chunks.find((c) => c.index === index);
  return range ? range.lastPage - range.firstPage + 1 : 0;
}
