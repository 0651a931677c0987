// split: turns a submission into a job. Stores the bytes in the object store, reads the page count
// and metadata, plans chunks, records the job (create: the first submission wins), publishes one
// extract task per chunk with deterministic ids, then its own result, then acks the submission.
// A redelivered submission republishes the same tasks (the stream drops the duplicates); a second
// submission of a document that already has a job changes nothing unless it asks to reprocess.
import {
  decodeJson,
  type ErrorInfo,
  type ExtractInput,
  HEADERS,
  Job,
  PRIORITIES,
  type Priority,
  type SplitFailure,
  type SplitOutput,
  SubmitHeaders,
  type Task,
  validate,
} from "../../schemas/index.ts";
import { defaultDocId, jsonBytes, OBJECT_STORES, purgeFinal, subjects, taskId } from "../../streams/index.ts";
import { planChunks } from "../chunking.ts";
import type { TaskDelivery } from "../delivery.ts";
import { StageError, toErrorInfo } from "../errors.ts";
import { publishResult } from "../results.ts";
import type { AgentServices } from "../services.ts";
import type { TaskHandler } from "../stage.ts";
import { retryDelayMs } from "../stage-runner.ts";

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

async function publishTasks(s: AgentServices, job: Job): Promise<void> {
  const stage = job.pipeline[1] ?? "extract";
  await Promise.all(
    job.chunks.map((range) => {
      const id = taskId(job.docId, job.runId, stage, range.index);
      const task: Task = {
        v: 1,
        taskId: id,
        docId: job.docId,
        runId: job.runId,
        stage,
        priority: job.priority,
        index: range.index,
        input: { object: job.object, range, pageCount: job.pageCount } satisfies ExtractInput,
        createdAt: Date.now(),
      };
      return s.publisher.publish(subjects.task(stage, job.priority), jsonBytes(task), { msgID: id });
    }),
  );
}

async function publishSplitOk(
  s: AgentServices,
  job: Job,
  delivery: number,
  startedAt: number,
): Promise<void> {
  const output: SplitOutput = { pageCount: job.pageCount, chunks: job.chunks, meta: job.meta };
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

async function readJob(s: AgentServices, docId: string): Promise<{ job: Job; revision: number } | undefined> {
  const e = await s.state.jobs.get(docId);
  if (e?.operation !== "PUT" || e.value.length === 0) return undefined;
  const j = decodeJson(Job, e.value);
  return j.ok ? { job: j.value, revision: e.revision } : undefined;
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
    const docId = headerDocId ? rawHeaders.docId! : defaultDocId(bytes);
    const sub: Submission = {
      docId,
      runId: runIdOf(d),
      source: rawHeaders.source?.slice(0, 1024) ?? null,
      submittedAt: d.info.storedAt || startedAt,
    };
    try {
      if (!parsed.ok) throw new StageError("HEADER_INVALID", `submission headers: ${parsed.message}`);
      const h = parsed.value;
      const priority = subjectPriority(d.subject) ?? h.priority ?? "normal";
      const reprocess = h.reprocess === "true";

      const existing = await readJob(s, docId);
      if (existing && !reprocess) {
        // A redelivery of the submission that created this run: make sure its tasks exist.
        if (delivered > 1 && (existing.job.status === "running" || existing.job.status === "merging")) {
          await publishTasks(s, existing.job);
          await publishSplitOk(s, existing.job, delivered, startedAt);
        }
        d.ack();
        return;
      }
      if (reprocess) await purgeFinal(s.jsm, docId);

      let data = bytes;
      let object = { bucket: OBJECT_STORES.docs, name: docId, size: bytes.length };
      if (h.object) {
        if (bytes.length > 0)
          throw new StageError("HEADER_INVALID", `${HEADERS.object} given with a non-empty body`);
        const info = await s.state.docs.info(h.object);
        if (!info || info.deleted)
          throw new StageError("OBJECT_MISSING", `object '${h.object}' is not in ${OBJECT_STORES.docs}`);
        object = { bucket: OBJECT_STORES.docs, name: h.object, size: info.size };
        data = await s.documents.bytes(object, sub.runId);
      }
      // Opened through the agent's document cache: when this agent extracts chunks of the document
      // soon, it does not parse it again.
      let meta: Job["meta"];
      try {
        meta = await s.documents.use(
          object,
          sub.runId,
          async (doc) => {
            if (doc.pageCount > s.processing.maxPages) {
              throw new StageError(
                "PDF_TOO_MANY_PAGES",
                `the document has ${doc.pageCount} pages; the limit is ${s.processing.maxPages}`,
              );
            }
            return doc.meta();
          },
          data,
        );
      } catch (err) {
        s.documents.forget(object, sub.runId);
        throw err;
      }
      if (!h.object) {
        await s.state.docs.putBlob({ name: docId }, data);
        // The agents of this host that extract its chunks read the bytes from memory.
        s.documents.share(object, sub.runId, data);
      }

      const agents = Math.max(1, await s.liveAgents("extract"));
      const now = Date.now();
      const job: Job = {
        v: 1,
        docId,
        runId: sub.runId,
        status: "running",
        priority,
        source: sub.source,
        pipeline: ["split", "extract", "merge"],
        object,
        pageCount: meta.pageCount,
        meta,
        chunks: planChunks(meta.pageCount, { agents, ...s.processing }),
        chunksDone: [],
        pagesDone: 0,
        stageMs: { split: now - startedAt },
        submittedAt: sub.submittedAt,
        updatedAt: now,
      };
      try {
        if (existing) await s.state.jobs.update(docId, jsonBytes(job), existing.revision);
        else await s.state.jobs.create(docId, jsonBytes(job));
      } catch {
        // Another submission of this document won the race; it owns the job.
        d.ack();
        return;
      }
      await publishTasks(s, job);
      await publishSplitOk(s, job, delivered, startedAt);
      d.ack();
    } catch (err) {
      const error = toErrorInfo(err);
      if (error.retryable && delivered < s.topology.maxDeliver) {
        d.nak(retryDelayMs(s.topology.backoffMs, delivered));
        return;
      }
      try {
        await publishSplitFailed(s, sub, error, delivered, startedAt);
        d.term(`${error.code}: ${error.message}`);
      } catch {
        d.nak(retryDelayMs(s.topology.backoffMs, delivered));
      }
    }
  },
};
