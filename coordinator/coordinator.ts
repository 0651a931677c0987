// The coordinator: follows the results stream with its own durable consumer (so whoever runs it
// next resumes exactly where the last one stopped), and drives every job's task graph from the
// results: it counts each task once in the job (compare-and-set), releases the tasks whose
// dependencies are all done, publishes progress events, and when a task fails for good fails the
// job, its dependents and writes the final failure. Every effect is idempotent and derived again
// from stored state when a result is redelivered, so a crash at any point is safe.

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
  AgentEventsWatcher,
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
  decodeJson,
  type ErrorInfo,
  type FinalResult,
  type Job,
  type JobResult,
  SplitFailure,
  TaskResult,
  validate,
} from "../schemas/index.ts";
import {
  COORDINATOR_CONSUMER,
  connectNats,
  dependentsOf,
  isComplete,
  JOBS_CONSUMER,
  jsonBytes,
  openState,
  publishFinal,
  publishJobResult,
  releasedBy,
  STREAMS,
  type SwarmState,
  subjects,
  taskEnvelope,
} from "../streams/index.ts";
import { Autoscaler } from "./autoscaler.ts";
import { Capabilities } from "./capabilities.ts";
import { acceptJobSpec } from "./dag-jobs.ts";
import { publishEvent } from "./events.ts";
import { JobStore } from "./job-store.ts";
import { sinkOutputs } from "./outputs.ts";

export type CoordinatorOptions = {
  servers: string | string[];
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
  publishTasks(job: Job, keys: string[]): Promise<void>;
};

export class Coordinator {
  readonly #ctx: CoordinatorContext;
  #consumers: Array<Awaited<ReturnType<Consumer["consume"]>>> = [];
  #loops: Promise<void>[] = [];
  #closing: Promise<void> | undefined;
  #autoscaler: Autoscaler | undefined;
  #unregisterGauges: (() => void) | undefined;
  #agentEvents: AgentEventsWatcher | undefined;

  private constructor(
    nc: NatsConnection,
    jsm: JetStreamManager,
    state: SwarmState,
    options: CoordinatorOptions,
  ) {
    const js = jetstream(nc);
    this.#ctx = {
      nc,
      js,
      jsm,
      state,
      jobs: new JobStore(state.jobs),
      capabilities: new Capabilities(nc, jsm),
      maxPayloadBytes: nc.info?.max_payload ?? 1024 * 1024,
      log: options.onLog ?? (() => {}),
      publishTasks: async (job, keys) => {
        await Promise.all(
          keys.map((key) => {
            const task = taskEnvelope(job, key);
            // Released tasks continue the trace of the result that released them (the gather span).
            const headers = withTraceHeaders();
            return js.publish(subjects.task(task.stage, job.priority), jsonBytes(task), {
              msgID: task.taskId,
              ...(headers && { headers }),
            });
          }),
        );
      },
    };
  }

  static async start(options: CoordinatorOptions): Promise<Coordinator> {
    const nc = await connectNats({ servers: options.servers, name: "docswarm-coordinator" });
    try {
      const js = jetstream(nc);
      const c = new Coordinator(nc, await jetstreamManager(nc), await openState(js), options);
      // The gather span continues the trace of the task that produced each result.
      await c.#consume(STREAMS.results, COORDINATOR_CONSUMER, (m) =>
        withSpan("docswarm.gather", { kind: SpanKind.CONSUMER, parent: extractTraceContext(m.headers) }, () =>
          c.#onResult(m),
        ),
      );
      await c.#consume(STREAMS.submit, JOBS_CONSUMER, (m) => acceptJobSpec(c.#ctx, m));
      if (options.autoscale)
        c.#autoscaler = new Autoscaler(nc, c.#ctx.jsm, c.#ctx.state.scale, options.autoscale);
      // Observability: swarm-wide gauges (read at scrape time) and agent lifecycle events.
      c.#unregisterGauges = registerSwarmGauges(() => readGaugeSnapshot(c.#ctx.jsm));
      c.#agentEvents = await AgentEventsWatcher.start(c.#ctx.state.agents, (e) => publishEvent(nc, e));
      return c;
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  async #consume(stream: string, durable: string, handle: (m: JsMsg) => Promise<void>): Promise<void> {
    const consumer = await this.#ctx.js.consumers.get(stream, durable);
    const messages = await consumer.consume({ max_messages: 512 });
    this.#consumers.push(messages);
    this.#loops.push(
      (async () => {
        for await (const m of messages) {
          try {
            await handle(m);
            m.ack();
          } catch (err) {
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
        outputs: await sinkOutputs(ctx, job),
        timings: {
          submittedAt: job.submittedAt,
          finishedAt,
          totalMs: Math.max(0, finishedAt - job.submittedAt),
        },
      };
      await publishJobResult(ctx.js, result, job.runId, ctx.maxPayloadBytes);
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
        if (j.status !== "running") return undefined;
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
    const { outcome } =
      job?.kind === "dag"
        ? await publishJobResult(
            ctx.js,
            { v: 1, kind: "job", jobId: r.docId, status: "failed", outputs: {}, timings, error },
            r.runId,
            ctx.maxPayloadBytes,
          )
        : await publishFinal(
            ctx.js,
            this.#failedDocument(r, job, error, timings),
            r.runId,
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
    if (job) await this.#cleanup(job);
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
  async #cleanup(job: Job): Promise<void> {
    this.#ctx.jobs.forget(job.docId);
    await Promise.allSettled([
      this.#ctx.jsm.streams.purge(STREAMS.results, { filter: subjects.results(job.docId) }),
      job.object ? this.#ctx.state.docs.delete(job.object.name) : Promise.resolve(),
    ]);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#autoscaler?.close();
      this.#unregisterGauges?.();
      await this.#agentEvents?.close();
      await Promise.all(this.#consumers.map((c) => c.close()));
      await Promise.allSettled(this.#loops);
      await this.#ctx.nc.drain().catch(() => {});
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
