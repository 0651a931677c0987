// Job progress: what the leading coordinator does with each task result. It counts each task once in
// its job (compare-and-set), releases the tasks whose dependencies are all done, publishes progress
// events, and when a task fails for good fails the job and its dependents and ends the document with
// its failure. Every effect is idempotent and derived again from stored state when a result is
// redelivered, so a crash at any point is safe.
import type { JsMsg } from "@nats-io/jetstream";
import { dependentsOf, endDocument, isComplete, releasedBy, takeOverFinal } from "../jobs/index.ts";
import { observeTaskResult } from "../observability/index.ts";
import {
  decodeJson,
  type ErrorInfo,
  type FinalResult,
  FinalSummary,
  HEADERS,
  type Job,
  type JobResult,
  SplitFailure,
  SplitFinished,
  TaskResult,
  validate,
} from "../schemas/index.ts";
import { readSubject, STREAMS, subjects } from "../streams/index.ts";
import type { CoordinatorContext } from "./context.ts";
import { publishEvent } from "./events.ts";
import { sinkOutputs } from "./outputs.ts";

/** Result deletes a cleanup keeps in flight at once. */
const DELETES_IN_FLIGHT = 16;

type Timings = { submittedAt: number; finishedAt: number; totalMs: number };

function pagesOf(job: Job, index: number): number {
  const range = job.chunks.find((c) => c.index === index);
  return range ? range.lastPage - range.firstPage + 1 : 0;
}

export class JobProgress {
  readonly #ctx: CoordinatorContext;

  constructor(ctx: CoordinatorContext) {
    this.#ctx = ctx;
  }

  /** One message from the results stream. */
  async onResult(m: JsMsg): Promise<void> {
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
    if (r.status === "failed") return this.#onFailed(r, key, m.seq);
    if (r.stage === "split" && (r.output as { outcome?: unknown } | undefined)?.outcome === "finished")
      return this.#onFinished(r, m);
    const cur = await this.#ctx.jobs.loadRun(r.docId, r.runId);
    if (!cur || cur.job.runId !== r.runId) {
      this.#ctx.log("debug", "result of an unknown or older run ignored", { docId: r.docId, runId: r.runId });
      // Split records its run's job before it publishes its result, so no job of this run will come.
      if (r.stage === "split")
        await this.#ctx.jsm.streams.deleteMessage(STREAMS.results, m.seq, false).catch(() => {});
      return;
    }
    if (r.stage === "split") return this.#onAccepted(cur.job, m.seq);
    await this.#onDone(r, key, m.seq);
  }

  /**
   * Split's result of a job's run: announced, then deleted (by sequence): nothing reads it after
   * the coordinator, and the job's end then knows every result it must delete from the job itself.
   */
  async #onAccepted(job: Job, seq: number): Promise<void> {
    const removed = this.#ctx.jsm.streams.deleteMessage(STREAMS.results, seq, false).catch(() => false);
    // A split result can come late: its first holder died after publishing the tasks, and the
    // redelivery reports it once the document may be finished. Nothing to announce then.
    if (job.status !== "running") {
      await removed;
      return;
    }
    publishEvent(this.#ctx.nc, {
      type: "doc.accepted",
      at: Date.now(),
      docId: job.docId,
      runId: job.runId,
      priority: job.priority,
      pageCount: job.pageCount,
      chunks: job.chunks.length,
    });
    const first = Object.values(job.tasks).filter((t) => t.state === "released");
    await Promise.all([this.#ctx.capabilities.check(job.docId, first), removed]);
  }

  /**
   * One final result from the done stream (headers only). A document split ended itself on layout
   * 4 says so in its summary header and is announced from it; every other final (merge's, a DAG
   * job's, a failure the coordinator wrote, an older agent's, whose split result announces it) is
   * announced elsewhere and only acked here.
   */
  async onFinal(m: JsMsg): Promise<void> {
    const raw = m.headers?.get(HEADERS.summary);
    if (!raw) return;
    const docId = m.subject.slice(subjects.done("").length);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    const summary = validate(FinalSummary, parsed);
    if (!summary.ok || summary.value.docId !== docId) {
      this.#ctx.log("warn", "invalid final summary dropped", {
        subject: m.subject,
        error: summary.ok ? "another document's summary" : summary.message,
      });
      return;
    }
    const f = summary.value;
    observeTaskResult({
      v: 1,
      taskId: f.taskId,
      docId: f.docId,
      runId: f.runId,
      stage: "split",
      index: 0,
      status: "ok",
      agentId: f.agentId,
      delivery: f.delivery,
      startedAt: f.startedAt,
      finishedAt: f.finishedAt,
    });
    this.#announceFinished(f.docId, f.runId, f);
  }

  /**
   * A document split ended itself (it fit one task) on an older agent: it has no job, only its
   * final result and this result. The result carries a TTL (it expires with the finished-job
   * window); one without (a results stream from before per-message TTLs) is deleted here, by
   * sequence, so no other run's results go.
   */
  async #onFinished(r: TaskResult, m: JsMsg): Promise<void> {
    const ctx = this.#ctx;
    const summary = validate(SplitFinished, r.output);
    if (!summary.ok) {
      ctx.log("warn", "invalid split summary dropped", { docId: r.docId, error: summary.message });
      return;
    }
    this.#announceFinished(r.docId, r.runId, summary.value);
    if (!m.headers?.get("Nats-TTL"))
      await ctx.jsm.streams.deleteMessage(STREAMS.results, m.seq, false).catch(() => {});
  }

  /**
   * The events a document split ended itself would have caused along the way, announced at once:
   * it has no job to report them as it went.
   */
  #announceFinished(
    docId: string,
    runId: string,
    f: Pick<SplitFinished, "status" | "priority" | "pageCount" | "totalMs" | "error">,
  ): void {
    const ctx = this.#ctx;
    const at = Date.now();
    const r = { docId, runId };
    publishEvent(ctx.nc, {
      type: "doc.accepted",
      at,
      docId: r.docId,
      runId: r.runId,
      priority: f.priority,
      pageCount: f.pageCount,
      chunks: f.pageCount > 0 ? 1 : 0,
    });
    if (f.pageCount > 0)
      publishEvent(ctx.nc, {
        type: "doc.progress",
        at,
        docId: r.docId,
        stage: "extract",
        done: 1,
        total: 1,
        pagesDone: f.pageCount,
        pageCount: f.pageCount,
        chunkPages: f.pageCount,
      });
    publishEvent(ctx.nc, {
      type: f.status === "done" ? "doc.done" : "doc.failed",
      at,
      docId: r.docId,
      pageCount: f.pageCount,
      totalMs: f.totalMs,
      ...(f.error && { error: f.error }),
    });
  }

  async #onDone(r: TaskResult, key: string, seq: number): Promise<void> {
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
      t.resultSeq = seq;
      job.stageMs[r.stage] = (job.stageMs[r.stage] ?? 0) + Math.max(0, r.finishedAt - r.startedAt);
      if (t.stage === "extract") job.pagesDone += pagesOf(job, t.index);
      for (const k of releasedBy(job, key)) job.tasks[k]!.state = "released";
      if (isComplete(job)) {
        job.status = "done";
        job.finishedAt = r.finishedAt;
      }
      return job;
    });
    if (!v || v.job.runId !== r.runId) {
      ctx.log("debug", "result of a job gone or replaced ignored", { docId: r.docId, key, runId: r.runId });
      return;
    }
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
    if (job.status === "done") await this.#finish(job, seq);
  }

  /** A finished job: DAG jobs get their result published here (documents' merge published theirs). */
  async #finish(job: Job, seq: number): Promise<void> {
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
      await endDocument(ctx.js, { kind: "job", result, runId: job.runId }, ctx.finalLimits);
    }
    publishEvent(ctx.nc, {
      type: "doc.done",
      at: Date.now(),
      docId: job.docId,
      pageCount: job.pageCount,
      totalMs: Math.max(0, finishedAt - job.submittedAt),
    });
    await this.#cleanup(job, seq);
  }

  async #onFailed(r: TaskResult, key: string, seq: number): Promise<void> {
    const ctx = this.#ctx;
    const cause: ErrorInfo = r.error ?? {
      code: "INTERNAL",
      message: "task failed without an error",
      retryable: false,
    };
    const splitInfo = validate(SplitFailure, r.output);
    // A reprocess that failed in split ends the document with that failure, as its success would.
    const reprocess = r.stage === "split" && splitInfo.ok && splitInfo.value.reprocess === true;
    let cur = await ctx.jobs.loadRun(r.docId, r.runId);
    if (cur && cur.job.runId !== r.runId && reprocess && splitInfo.ok)
      cur = await this.#replaceRun(r, cur.job.runId, splitInfo.value, cause);
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
          failed.resultSeq = seq;
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
    const submittedAt = job?.submittedAt ?? (splitInfo.ok ? splitInfo.value.submittedAt : r.startedAt);
    const timings = { submittedAt, finishedAt: now, totalMs: Math.max(0, now - submittedAt) };
    // The final result first: if we crash after it, the redelivered result finds it there.
    ctx.fence();
    // Before the failure can replace an earlier run's final result, the takeover is marked (again,
    // after a crash: idempotent), so the replaced run's writers are refused from here on.
    if (reprocess) await takeOverFinal(ctx.js, r.docId, r.runId);
    const { outcome } = await endDocument(
      ctx.js,
      job?.kind === "dag"
        ? {
            kind: "job",
            result: { v: 1, kind: "job", jobId: r.docId, status: "failed", outputs: {}, timings, error },
            runId: r.runId,
          }
        : { kind: "document", final: failedDocument(r, job, error, timings), runId: r.runId },
      ctx.finalLimits,
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
      await this.#cleanup(job, seq, { keepBytes: error.code === "MAX_DELIVERIES" });
  }

  /**
   * A reprocess failed in split while an earlier run's job holds the document: its failed job
   * replaces that one (recorded first, as split records a reprocess's job before taking the final
   * result over), unless the job belongs to a submission made after this one. What is stored after.
   */
  async #replaceRun(r: TaskResult, runId: string, failure: SplitFailure, error: ErrorInfo) {
    return this.#ctx.jobs.update(r.docId, (j) => {
      if (j.runId !== runId || j.submittedAt > failure.submittedAt) return undefined;
      const { reading: _reading, ...kept } = j;
      const now = Date.now();
      // The replaced run's bytes go with this job's cleanup (they are gone already if it ended).
      return {
        ...kept,
        runId: r.runId,
        status: "failed",
        source: failure.source,
        pageCount: 0,
        meta: null,
        chunks: [],
        tasks: {},
        pagesDone: 0,
        stageMs: {},
        submittedAt: failure.submittedAt,
        finishedAt: now,
        error,
      } satisfies Job;
    });
  }

  /**
   * A finished job's task results and document bytes are no longer needed. `upTo` is the results
   * stream sequence of the result that ended the job: what was stored after it (a later run's) stays.
   */
  async #cleanup(job: Job, upTo: number, options: { keepBytes?: boolean } = {}): Promise<void> {
    this.#ctx.jobs.forget(job.docId);
    await Promise.allSettled([
      this.#removeResults(job, upTo),
      job.object && !options.keepBytes ? this.#ctx.state.docs.delete(job.object.name) : Promise.resolve(),
    ]);
  }

  /**
   * Deletes the document's stored results one by one, by sequence, never by a purge: a purge by
   * subject while this consumer has other documents' results pending (delivered to a leader that
   * was deposed before it acked them, or nak'ed) makes nats-server (2.15.1) move the consumer's ack
   * floor past them, and it then drops them as acked without ever redelivering them (partition seed
   * 2 lost documents whose chunk results were stored that way). A deleted message that is pending
   * is terminated on its own, which leaves the others alone.
   *
   * The sequences come from the job (each counted task's `resultSeq`, and `upTo`, the result that
   * ended it; split's was deleted when it was announced), so a chunked document's results, page
   * texts and all, are not read again after merge read them. A job counted by a coordinator that did
   * not record sequences has its results read for their sequences, as before.
   */
  async #removeResults(job: Job, upTo: number): Promise<void> {
    const jsm = this.#ctx.jsm;
    const tasks = Object.values(job.tasks);
    const recorded = tasks.every((t) => t.state !== "done" || t.resultSeq !== undefined);
    const seqs = recorded
      ? [...new Set([...tasks.flatMap((t) => t.resultSeq ?? []), upTo])].filter((seq) => seq <= upTo)
      : (await readSubject(jsm, STREAMS.results, subjects.results(job.docId)))
          .map((m) => m.seq)
          .filter((seq) => seq <= upTo);
    let next = 0;
    const worker = async () => {
      while (next < seqs.length) {
        const seq = seqs[next++]!;
        await jsm.streams.deleteMessage(STREAMS.results, seq, false).catch(() => {});
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETES_IN_FLIGHT, seqs.length) }, worker));
  }
}

function failedDocument(r: TaskResult, job: Job | undefined, error: ErrorInfo, t: Timings): FinalResult {
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
