// Accepting DAG job specs (docswarm.jobs.submit): validate the shape and the graph (no unknown
// dependencies, no cycles), record the job (create: a repeated submission changes nothing), and
// release the tasks without dependencies. A rejected job still gets its one final (failed) result.
import type { JsMsg } from "@nats-io/jetstream";
import { checkGraph, endDocument, hasFinal } from "../jobs/index.ts";
import {
  decodeJson,
  type ErrorInfo,
  type Job,
  type JobResult,
  JobSpec,
  type JobTask,
} from "../schemas/index.ts";
import { isWrongLastSequence, jsonBytes, PAYLOAD_HEADROOM_BYTES } from "../streams/index.ts";
import type { CoordinatorContext } from "./context.ts";
import { publishEvent } from "./events.ts";

// One job record (a KV value) has to fit in a message.
const MAX_DAG_TASKS = 5000;

async function reject(
  ctx: CoordinatorContext,
  jobId: string,
  runId: string,
  error: ErrorInfo,
  submittedAt: number,
) {
  const now = Date.now();
  const result: JobResult = {
    v: 1,
    kind: "job",
    jobId,
    status: "failed",
    outputs: {},
    timings: { submittedAt, finishedAt: now, totalMs: Math.max(0, now - submittedAt) },
    error,
  };
  await endDocument(ctx.js, { kind: "job", result, runId }, ctx.finalLimits);
  publishEvent(ctx.nc, {
    type: "doc.failed",
    at: now,
    docId: jobId,
    pageCount: 0,
    totalMs: result.timings.totalMs,
    error,
  });
}

export async function acceptJobSpec(ctx: CoordinatorContext, m: JsMsg): Promise<void> {
  const runId = m.seq.toString(36);
  const submittedAt = Math.floor(Number(m.info.timestampNanos) / 1e6) || Date.now();
  const spec = decodeJson(JobSpec, m.data);
  if (!spec.ok) {
    let jobId: unknown;
    try {
      jobId = (JSON.parse(new TextDecoder().decode(m.data)) as { jobId?: unknown }).jobId;
    } catch {}
    if (typeof jobId === "string" && /^[A-Za-z0-9_-]{1,128}$/.test(jobId)) {
      await reject(
        ctx,
        jobId,
        runId,
        { code: "SCHEMA_INVALID", message: `job spec: ${spec.message}`, retryable: false },
        submittedAt,
      );
    } else ctx.log("warn", "job spec without a usable jobId dropped", { error: spec.message });
    return;
  }
  const s = spec.value;
  const graph =
    s.tasks.length > MAX_DAG_TASKS
      ? { ok: false as const, message: `more than ${MAX_DAG_TASKS} tasks` }
      : checkGraph(s.tasks);
  if (!graph.ok) {
    await reject(
      ctx,
      s.jobId,
      runId,
      { code: "DAG_INVALID", message: graph.message, retryable: false },
      submittedAt,
    );
    return;
  }
  const existing = await ctx.jobs.load(s.jobId, true);
  if (existing) {
    // A redelivery of the submission that created it (we may have crashed before releasing the
    // roots): release them again, deduplicated. A new submission of the same id joins the first.
    const j = existing.job;
    if (j.runId === runId && j.status === "running") {
      await ctx.publishTasks(
        j,
        Object.keys(j.tasks).filter((k) => j.tasks[k]!.state === "released"),
      );
    }
    return;
  }
  // A job that ended and has left the jobs bucket: its stored result answers this submission too.
  if (await hasFinal(ctx.jsm, s.jobId)) return;
  const tasks: Record<string, JobTask> = {};
  for (const t of s.tasks) {
    const [, index = "0"] = t.key.split(".");
    tasks[t.key] = {
      stage: t.stage,
      index: Number(index),
      deps: t.deps,
      state: t.deps.length === 0 ? "released" : "pending",
      inputMode: t.inputMode ?? (t.deps.length > 0 ? "deps" : "static"),
      mode: t.mode,
      ...(t.input !== undefined && { input: t.input }),
    };
  }
  const now = Date.now();
  const job: Job = {
    v: 1,
    docId: s.jobId,
    runId,
    kind: "dag",
    status: "running",
    priority: s.priority,
    source: null,
    pipeline: [...new Set(s.tasks.map((t) => t.stage))],
    object: null,
    pageCount: 0,
    meta: null,
    chunks: [],
    tasks,
    pagesDone: 0,
    stageMs: {},
    submittedAt,
    updatedAt: now,
  };
  const body = jsonBytes(job);
  if (body.length > ctx.maxPayloadBytes - PAYLOAD_HEADROOM_BYTES) {
    await reject(
      ctx,
      s.jobId,
      runId,
      { code: "DAG_INVALID", message: `the job is too large (${body.length} bytes)`, retryable: false },
      submittedAt,
    );
    return;
  }
  try {
    await ctx.state.jobs.create(s.jobId, body);
  } catch (err) {
    // Created concurrently by a redelivery: that one releases the roots. Anything else (bucket
    // full, timeout) is thrown, so the submission is redelivered instead of acked without a job.
    if (isWrongLastSequence(err)) return;
    throw err;
  }
  const roots = Object.keys(tasks).filter((k) => tasks[k]!.state === "released");
  await ctx.publishTasks(job, roots);
  publishEvent(ctx.nc, {
    type: "doc.accepted",
    at: now,
    docId: s.jobId,
    runId,
    priority: s.priority,
    pageCount: 0,
    chunks: s.tasks.length,
  });
  await ctx.capabilities.check(
    s.jobId,
    roots.map((k) => tasks[k]!),
  );
}
