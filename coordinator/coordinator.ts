// The coordinator: follows the results stream with its own durable consumer (so whoever runs it
// next resumes exactly where the last one stopped), keeps per-document progress in the jobs bucket,
// publishes progress events, releases the merge task when every chunk is in, and writes the final
// failure of a document when one of its tasks failed for good. Every effect is idempotent and is
// derived again from stored state when a result is redelivered, so a crash at any point is safe.

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
import { publishEvent } from "./events.ts";
import { JobStore } from "./job-store.ts";

export type CoordinatorOptions = {
  servers: string | string[];
  onLog?: (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
};

const TERMINAL = new Set<Job["status"]>(["done", "failed"]);

export class Coordinator {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #state: SwarmState;
  readonly #jobs: JobStore;
  readonly #log: NonNullable<CoordinatorOptions["onLog"]>;
  readonly #maxPayload: number;
  #messages: Awaited<ReturnType<Consumer["consume"]>> | undefined;
  #loop: Promise<void> | undefined;
  #unregisterGauges: (() => void) | undefined;
  #agentEvents: AgentEventsWatcher | undefined;
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
    this.#jobs = new JobStore(state.jobs);
    this.#log = options.onLog ?? (() => {});
    this.#maxPayload = nc.info?.max_payload ?? 1024 * 1024;
  }

  static async start(options: CoordinatorOptions): Promise<Coordinator> {
    const nc = await connectNats({ servers: options.servers, name: "docswarm-coordinator" });
    try {
      const js = jetstream(nc);
      const c = new Coordinator(nc, await jetstreamManager(nc), await openState(js), options);
      await c.#run();
      // Observability: swarm-wide gauges (read at scrape time) and agent lifecycle events.
      c.#unregisterGauges = registerSwarmGauges(() => readGaugeSnapshot(c.#jsm));
      c.#agentEvents = await AgentEventsWatcher.start(c.#state.agents, (e) => publishEvent(nc, e));
      return c;
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  async #run(): Promise<void> {
    const consumer = await this.#js.consumers.get(STREAMS.results, COORDINATOR_CONSUMER);
    const messages = await consumer.consume({ max_messages: 512 });
    this.#messages = messages;
    this.#loop = (async () => {
      for await (const m of messages) {
        try {
          // The gather span continues the trace of the task that produced this result.
          await withSpan(
            "docswarm.gather",
            { kind: SpanKind.CONSUMER, parent: extractTraceContext(m.headers) },
            () => this.#handle(m),
          );
          m.ack();
        } catch (err) {
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
    observeTaskResult(r);
    if (r.status === "failed") return this.#onFailed(r);
    const cur = await this.#jobs.load(r.docId);
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
    if (!out.ok) throw new Error(`split output: ${out.message}`);
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
      chunkPages: pagesOf(job, r.index),
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
    const headers = withTraceHeaders();
    await this.#js.publish(subjects.task("merge", job.priority), jsonBytes(task), {
      msgID: id,
      ...(headers && { headers }),
    });
  }

  async #onMerged(r: TaskResult): Promise<void> {
    const v = await this.#jobs.update(r.docId, (job) =>
      TERMINAL.has(job.status)
        ? undefined
        : {
            ...job,
            status: "done",
            finishedAt: r.finishedAt,
            stageMs: { ...job.stageMs, merge: Math.max(0, r.finishedAt - r.startedAt) },
          },
    );
    if (!v) return;
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
    const cur = await this.#jobs.load(r.docId);
    if (cur && cur.job.runId !== r.runId) {
      // A second submission of a document that already has a job failed (bad headers, say):
      // the existing job and its result stand.
      this.#log("info", "failed resubmission ignored; the document keeps its job", {
        docId: r.docId,
        code: error.code,
      });
      return;
    }
    publishEvent(this.#nc, {
      type: "task.failed",
      at: Date.now(),
      docId: r.docId,
      taskId: r.taskId,
      stage: r.stage,
      agentId: r.agentId,
      delivery: r.delivery,
      error,
    });
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
    const { outcome } = await publishFinal(this.#js, final, r.runId, this.#maxPayload);
    if (job) {
      await this.#jobs.update(r.docId, (j) =>
        TERMINAL.has(j.status) ? undefined : { ...j, status: "failed", finishedAt: now, error },
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
    if (job) await this.#cleanup(job);
  }

  /** A finished document's chunk results and bytes are no longer needed. */
  async #cleanup(job: Job): Promise<void> {
    this.#jobs.forget(job.docId);
    await Promise.allSettled([
      this.#jsm.streams.purge(STREAMS.results, { filter: subjects.result(job.docId) }),
      this.#state.docs.delete(job.object.name),
    ]);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#unregisterGauges?.();
      await this.#agentEvents?.close();
      await this.#messages?.close();
      await this.#loop?.catch(() => {});
      await this.#nc.drain().catch(() => {});
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
