// split: turns a submission into a job. Stores the bytes in the object store, reads the page count
// and metadata, plans chunks, records the job (create: the first submission wins), publishes one
// extract task per chunk with deterministic ids, then its own result, then acks the submission.
// A redelivered submission republishes the same tasks (the stream drops the duplicates); a second
// submission of a document that already has a job changes nothing unless it asks to reprocess.

import { pipelineTasks, publishTasks, purgeFinal, releasedTasks } from "../../jobs/index.ts";
import { withTraceHeaders } from "../../observability/trace-headers.ts";
import { annotateSpan } from "../../observability/tracing.ts";
import {
  DEFAULT_PIPELINE_TEXT,
  type DocMeta,
  decodeJson,
  type ErrorInfo,
  HEADERS,
  type Job,
  Pipeline,
  PRIORITIES,
  type Priority,
  parsePipeline,
  type SplitFailure,
  type SplitOutput,
  SubmitHeaders,
  validate,
} from "../../schemas/index.ts";
import {
  adoptUpload,
  defaultDocId,
  OBJECT_STORES,
  purgeUpload,
  type ReadUpload,
  readUpload,
  subjects,
  taskId,
  type Upload,
  UploadError,
  uploadDocId,
} from "../../streams/index.ts";
import { planChunks } from "../chunking.ts";
import type { TaskDelivery } from "../delivery.ts";
import { StageError, toErrorInfo } from "../errors.ts";
import { checkDocumentSize, readingOf } from "../pdf/reading.ts";
import { publishResult } from "../results.ts";
import type { AgentServices } from "../services.ts";
import type { TaskHandler } from "../stage.ts";
import { retryDelayMs } from "../stage-runner.ts";
import { markTaskFailed } from "../task-span.ts";

/** Deterministic per submission message (its stream sequence), so redeliveries reuse it. */
function runIdOf(d: TaskDelivery): string {
  return d.info.streamSeq.toString(36);
}

function readHeaders(d: TaskDelivery): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, name] of Object.entries(HEADERS)) {
    const v = d.headers?.get(name);
    if (v) out[field] = v;
  }
  return out;
}

function subjectPriority(subject: string): Priority | undefined {
  const last = subject.slice(subjects.submit.length + 1);
  return (PRIORITIES as readonly string[]).includes(last) ? (last as Priority) : undefined;
}

type Submission = { docId: string; runId: string; source: string | null; submittedAt: number };

/**
 * Publishes the tasks the job starts with (extract per chunk, or merge for an empty document), each
 * carrying the split span's trace context to the agent that runs it.
 */
function publishFirstTasks(s: AgentServices, job: Job): Promise<void> {
  return publishTasks(s.publisher, job, releasedTasks(job), withTraceHeaders);
}

/** The pipeline a submission asks for: inline ("split,extract,x,merge"), by name, or the default. */
async function resolvePipeline(s: AgentServices, spec: string | undefined): Promise<Pipeline> {
  const text = spec ?? DEFAULT_PIPELINE_TEXT;
  if (text.includes(",")) {
    const p = parsePipeline(text);
    if (!p.ok) throw new StageError("PIPELINE_INVALID", `pipeline '${text}': ${p.message}`);
    return p.value;
  }
  const entry = await s.state.pipelines.get(text);
  if (entry?.operation !== "PUT" || entry.value.length === 0) {
    throw new StageError(
      "PIPELINE_INVALID",
      `no pipeline named '${text}' (docswarm pipeline set ${text} <stages>)`,
    );
  }
  const p = decodeJson(Pipeline, entry.value);
  if (!p.ok) throw new StageError("PIPELINE_INVALID", `pipeline '${text}': ${p.message}`);
  return p.value;
}

async function publishSplitOk(
  s: AgentServices,
  job: Job,
  delivery: number,
  startedAt: number,
): Promise<void> {
  const output: SplitOutput = { pageCount: job.pageCount, chunks: job.chunks, meta: job.meta! };
  const identity = {
    taskId: taskId(job.docId, job.runId, "split", 0),
    docId: job.docId,
    runId: job.runId,
    stage: "split",
    index: 0,
  };
  await publishResult(s, identity, delivery, startedAt, { status: "ok", output });
}

async function publishSplitFailed(
  s: AgentServices,
  sub: Submission,
  error: ErrorInfo,
  delivery: number,
  startedAt: number,
) {
  const identity = {
    taskId: taskId(sub.docId, sub.runId, "split", 0),
    docId: sub.docId,
    runId: sub.runId,
    stage: "split",
    index: 0,
  };
  const output: SplitFailure = { source: sub.source, submittedAt: sub.submittedAt };
  await publishResult(s, identity, delivery, startedAt, { status: "failed", error, output });
}

export const splitHandler: TaskHandler = {
  name: "split",
  concurrency: 1,
  timeoutMs: undefined,
  async handle(d: TaskDelivery, s: AgentServices): Promise<void> {
    const startedAt = Date.now();
    const delivered = d.info.delivered;
    const rawHeaders = readHeaders(d);
    const parsed = validate(SubmitHeaders, rawHeaders);
    const bytes = d.data;
    const headerDocId =
      typeof rawHeaders.docId === "string" && /^[A-Za-z0-9_-]{1,128}$/.test(rawHeaders.docId);
    const docId = headerDocId
      ? rawHeaders.docId!
      : ((rawHeaders.upload && uploadDocId(rawHeaders.uploadDigest)) ?? defaultDocId(bytes));
    const sub: Submission = {
      docId,
      runId: runIdOf(d),
      source: rawHeaders.source?.slice(0, 1024) ?? null,
      submittedAt: d.info.storedAt || startedAt,
    };
    annotateSpan({ "docswarm.doc.id": docId, "docswarm.run.id": sub.runId });
    let adopted = false;
    try {
      if (!parsed.ok) throw new StageError("HEADER_INVALID", `submission headers: ${parsed.message}`);
      const h = parsed.value;
      const reading = readingOf(h);
      const priority = subjectPriority(d.subject) ?? h.priority ?? "normal";
      const reprocess = h.reprocess === "true";

      const existing = await s.jobs.load(docId, true);
      if (existing && existing.job.runId === sub.runId) {
        // A redelivery of the submission that created this run (reprocessing or not): make sure its
        // tasks and split result exist; their ids are the same, so the streams drop repeats. The
        // result goes out even when the document has finished meanwhile (its holder died between
        // publishing the tasks and the result): every delivery that completes leaves its result.
        if (existing.job.status === "running") await publishFirstTasks(s, existing.job);
        await publishSplitOk(s, existing.job, delivered, startedAt);
        d.ack();
        return;
      }
      if (existing && !reprocess) {
        // Another submission of a document that has a job: it joins that job (and its result).
        d.ack();
        return;
      }
      const pipeline = await resolvePipeline(s, h.pipeline);
      if (reprocess) await purgeFinal(s.jsm, docId);

      checkDocumentSize(bytes.length, s.processing.maxDocumentBytes);
      let data = bytes;
      let upload: Upload | undefined;
      let uploaded: ReadUpload | undefined;
      // Bytes we store are named per run, so cleaning up an earlier run never removes a newer one's.
      let object = { bucket: OBJECT_STORES.docs, name: `${docId}.${sub.runId}`, size: bytes.length };
      if (h.upload) {
        if (bytes.length > 0 || h.object || !h.uploadSize || !h.uploadDigest)
          throw new StageError(
            "HEADER_INVALID",
            `${HEADERS.upload} needs ${HEADERS.uploadSize} and ${HEADERS.uploadDigest}, an empty body and no ${HEADERS.object}`,
          );
        checkDocumentSize(h.uploadSize, s.processing.maxDocumentBytes);
        upload = { id: h.upload, size: h.uploadSize, digest: h.uploadDigest };
        uploaded = await readUpload(s.jsm, upload).catch((err) => {
          throw err instanceof UploadError ? new StageError(err.code, err.message) : err;
        });
        data = uploaded.bytes;
        object = { ...object, size: data.length };
      }
      if (h.object) {
        if (bytes.length > 0)
          throw new StageError("HEADER_INVALID", `${HEADERS.object} given with a non-empty body`);
        const info = await s.state.docs.info(h.object);
        if (!info || info.deleted)
          throw new StageError("OBJECT_MISSING", `object '${h.object}' is not in ${OBJECT_STORES.docs}`);
        checkDocumentSize(info.size, s.processing.maxDocumentBytes);
        object = { bucket: OBJECT_STORES.docs, name: h.object, size: info.size };
        data = await s.documents.bytes(object, sub.runId);
      }
      // Opened through the agent's document cache: when this agent extracts chunks of the document
      // soon, it does not parse it again.
      let meta: DocMeta;
      let costs: number[] | undefined;
      try {
        const opened = await s.documents.use(
          object,
          sub.runId,
          async (doc) => {
            if (doc.pageCount > s.processing.maxPages) {
              throw new StageError(
                "PDF_TOO_MANY_PAGES",
                `the document has ${doc.pageCount} pages; the limit is ${s.processing.maxPages}`,
              );
            }
            return {
              meta: await doc.meta(),
              costs: s.processing.adaptiveChunks ? await doc.pageCosts() : undefined,
            };
          },
          data,
          reading,
        );
        meta = opened.meta;
        costs = opened.costs;
      } catch (err) {
        s.documents.forget(object, sub.runId);
        throw err;
      }
      if (!h.object) {
        // An upload becomes the object as it is (its metadata written, no copy); inline bytes are stored.
        const stored =
          upload && uploaded
            ? await adoptUpload(s.js, upload, uploaded, object.name)
            : await s.state.docs.putBlob({ name: object.name }, data);
        adopted = Boolean(upload);
        object = { ...object, size: stored.size };
        // The agents of this host that extract its chunks read the bytes from memory.
        s.documents.share(object, sub.runId, data);
      }

      const agents = Math.max(1, await s.liveAgents("extract"));
      const now = Date.now();
      const chunks = planChunks(meta.pageCount, { agents, ...s.processing, ...(costs && { costs }) });
      const job: Job = {
        v: 1,
        docId,
        runId: sub.runId,
        kind: "document",
        status: "running",
        priority,
        source: sub.source,
        pipeline: pipeline.map((p) => p.stage),
        object,
        ...(reading && { reading }),
        pageCount: meta.pageCount,
        meta,
        chunks,
        tasks: pipelineTasks(pipeline, chunks),
        pagesDone: 0,
        stageMs: { split: now - startedAt },
        submittedAt: sub.submittedAt,
        updatedAt: now,
      };
      const stored = (await s.jobs.record(job, reprocess)).job;
      if (stored.runId !== job.runId) {
        // Another submission of this document won the race; it owns the job.
        d.ack();
        return;
      }
      // What is stored: an earlier delivery of this submission may have recorded its own plan.
      if (stored.status === "running") await publishFirstTasks(s, stored);
      await publishSplitOk(s, stored, delivered, startedAt);
      d.ack();
    } catch (err) {
      const error = toErrorInfo(err);
      markTaskFailed(error);
      if (error.retryable && delivered < s.topology.maxDeliver) {
        d.nak(retryDelayMs(s.topology.backoffMs, delivered));
        return;
      }
      try {
        await publishSplitFailed(s, sub, error, delivered, startedAt);
        d.term(`${error.code}: ${error.message}`);
        // An upload that never became the document's object has no one else to remove it.
        if (rawHeaders.upload && !adopted) await purgeUpload(s.jsm, rawHeaders.upload).catch(() => {});
      } catch {
        d.nak(retryDelayMs(s.topology.backoffMs, delivered));
      }
    }
  },
};
