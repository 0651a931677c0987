// split: turns a submission (agents/submission.ts) into a job. Reads the page count and metadata,
// stores the bytes in the object store, plans chunks, records the job (the first submission of a
// document wins), publishes one extract task per chunk with deterministic ids, and reports the plan
// as its result. A document that fits one chunk in the default pipeline, or is not too long while
// the swarm is busy, is extracted and ended here instead, without a job (./whole-document.ts). A redelivered submission republishes the same tasks
// (the stream drops the duplicates); a second submission of a document that already has a job
// changes nothing unless it asks to reprocess. Run by the stage runner like every other stage.
import { z } from "zod";
import { hasFinal, pipelineTasks, publishTasks, releasedTasks, takeOverFinal } from "../../jobs/index.ts";
import { annotateSpan, withTraceHeaders } from "../../observability/thread.ts";
import {
  type DocMeta,
  type DocReading,
  HEADERS,
  type Job,
  type ObjectRef,
  type PageRange,
  SplitFinished,
  SplitOutput,
  SubmitHeaders,
  validate,
} from "../../schemas/index.ts";
import {
  adoptUpload,
  OBJECT_STORES,
  purgeUpload,
  type ReadUpload,
  readUpload,
  taskId,
  UploadError,
} from "../../streams/index.ts";
import { planChunks, planChunksAfter } from "../chunking.ts";
import { StageError } from "../errors.ts";
import type { ExtractedPages } from "../pdf/extract-pages.ts";
import { checkDocumentSize, readingOf } from "../pdf/reading.ts";
import { publishResult } from "../results.ts";
import type { AgentServices } from "../services.ts";
import { defineStage, type StageContext } from "../stage.ts";
import { resolvePipeline, type Submission } from "../submission.ts";
import { higherWorkWaits } from "./higher-work.ts";
import { idleAgentWaits } from "./idle-work.ts";
import { endWholeDocument, extractWhole, fitsOneTask, mayEndInSplit, swarmBusy } from "./whole-document.ts";

const SplitInput = z.object({
  data: z.instanceof(Uint8Array),
  headers: z.record(z.string(), z.string()),
  submittedAt: z.number(),
}) satisfies z.ZodType<Submission>;

/**
 * `planned`: the job's plan, reported as split's result. `finished`: split ended the document
 * itself. `joined`: another run owns the document.
 */
export const SplitOutcome = z.discriminatedUnion("outcome", [
  z.object({ outcome: z.literal("planned"), plan: SplitOutput }),
  // announced: the final carries the coordinator's summary (layout 4), so no result is published.
  z.object({ outcome: z.literal("finished"), summary: SplitFinished, announced: z.boolean().optional() }),
  z.object({ outcome: z.literal("joined") }),
]);
export type SplitOutcome = z.infer<typeof SplitOutcome>;

/**
 * What split's result reports: the plan, or the summary of a document it ended (which expires
 * with the finished-job window, as a finished job would: there is no job whose end purges it);
 * nothing when the submission joined another run, or when the final it wrote announces it.
 */
export function reportSplit(
  o: SplitOutcome,
  s: AgentServices,
): { output: SplitOutput | SplitFinished; ttlMs?: number } | undefined {
  if (o.outcome === "planned") return { output: o.plan };
  if (o.outcome === "finished")
    return o.announced ? undefined : { output: o.summary, ttlMs: s.topology.jobsFinishedTtlMs };
  return undefined;
}

function planned(job: Job): SplitOutcome {
  return { outcome: "planned", plan: { pageCount: job.pageCount, chunks: job.chunks, meta: job.meta! } };
}

/**
 * Publishes the tasks the job starts with (extract per chunk, or merge for an empty document), each
 * carrying the split span's trace context to the agent that runs it.
 */
function publishFirstTasks(
  s: AgentServices,
  job: Job,
  password: string | undefined,
  skip?: string,
): Promise<void> {
  const keys = releasedTasks(job).filter((k) => k !== skip);
  // The password goes from the submission's header into the extract tasks only, never into the job.
  return publishTasks(s.publisher, job, keys, withTraceHeaders, { password });
}

/** The document's bytes, where they will be stored, and the upload they came as. */
type Bytes = { data: Uint8Array; object: ObjectRef; upload?: ReadUpload & { id: string } };

/**
 * The document's bytes and where they will be stored; PDF_TOO_LARGE before reading them. They come
 * inline or as an upload, and docswarm stores them under this run's own name, so a document's
 * cleanup only ever removes what docswarm stored for it. `Docswarm-Object` (a submission naming an
 * object of its own) is retired in favour of uploads: its bytes were not docswarm's to delete, and
 * its doc id was the empty body's.
 */
async function documentBytes(
  s: AgentServices,
  h: SubmitHeaders,
  input: Submission,
  docId: string,
  runId: string,
): Promise<Bytes> {
  const max = s.processing.maxDocumentBytes;
  checkDocumentSize(input.data.length, max);
  // Bytes we store are named per run, so cleaning up an earlier run never removes a newer one's.
  const name = `${docId}.${runId}`;
  if (h.object)
    throw new StageError(
      "HEADER_INVALID",
      `${HEADERS.object} is retired: publish the bytes inline, or as an upload (${HEADERS.upload}; see the README)`,
    );
  if (h.upload) {
    if (input.data.length > 0 || !h.uploadSize || !h.uploadDigest)
      throw new StageError(
        "HEADER_INVALID",
        `${HEADERS.upload} needs ${HEADERS.uploadSize} and ${HEADERS.uploadDigest} and an empty body`,
      );
    checkDocumentSize(h.uploadSize, max);
    const upload = { id: h.upload, size: h.uploadSize, digest: h.uploadDigest };
    const read = await readUpload(s.jsm, upload).catch((err) => {
      throw err instanceof UploadError ? new StageError(err.code, err.message) : err;
    });
    const object = { bucket: OBJECT_STORES.docs, name, size: read.bytes.length };
    return { data: read.bytes, object, upload: { ...read, id: h.upload } };
  }
  return { data: input.data, object: { bucket: OBJECT_STORES.docs, name, size: input.data.length } };
}

/**
 * Stores the bytes as the document's object: an upload becomes it as it is (its metadata written,
 * no copy), inline bytes are put.
 */
async function storeBytes(s: AgentServices, b: Bytes, h: SubmitHeaders): Promise<{ size: number }> {
  if (!b.upload) return s.state.docs.putBlob({ name: b.object.name }, b.data);
  const upload = { id: b.upload.id, size: h.uploadSize!, digest: h.uploadDigest! };
  return adoptUpload(s.js, upload, b.upload, b.object.name);
}

/** What split read from the document: its metadata, and either its page costs or all its pages. */
type DocumentRead = {
  meta: DocMeta;
  costs: number[] | undefined;
  /**
   * The whole document's pages, when it is one task (`whole`) and fits one; its first pages only
   * when it yielded to higher-priority work (then `costs` are the whole document's, for the rest).
   */
  extracted?: ExtractedPages;
  /** When extracting began and ended (ms since the epoch). */
  extractSpan?: [number, number];
};

/**
 * Opens the document through the agent's document cache (when this agent extracts chunks of it
 * soon, it does not parse it again) for its metadata and, with adaptive chunks, its page costs.
 * With `whole`, a document that fits one task (small, or not too long while the swarm is busy)
 * has all its pages extracted in the same open instead, and is closed after: nothing else reads it.
 * A busy one is extracted only when it has no job (`hasJob`: a redelivery of a submission whose
 * earlier delivery yielded has one, and its tasks do the pages), and stops early when work of a
 * higher priority waits; it stays open then, for the chunks of its rest.
 */
async function readDocument(
  s: AgentServices,
  object: ObjectRef,
  runId: string,
  data: Uint8Array,
  reading: DocReading | undefined,
  whole?: {
    docId: string;
    priority: Job["priority"];
    signal: AbortSignal;
    pending: number | undefined;
    hasJob: () => Promise<boolean>;
  },
): Promise<DocumentRead> {
  let done = false;
  try {
    const read = await s.documents.use(
      object,
      runId,
      async (doc): Promise<DocumentRead> => {
        if (doc.pageCount > s.processing.maxPages) {
          throw new StageError(
            "PDF_TOO_MANY_PAGES",
            `the document has ${doc.pageCount} pages; the limit is ${s.processing.maxPages}`,
          );
        }
        const meta = await doc.meta();
        // Busy only while nothing of a higher priority waits: it would make this yield at once.
        const higher = whole && higherWorkWaits(s, whole.priority);
        const busy = async () => (await swarmBusy(s, whole?.pending)) && !(await higher!.look());
        const fits = whole && (await fitsOneTask(s, doc, busy));
        if (fits && !(fits === "busy" && (await whole.hasJob()))) {
          // Stops for higher-priority work, or for an agent of this host that ran out of work.
          const idle = idleAgentWaits(s, doc.pageCount);
          const yieldNow = fits === "busy" ? () => idle() || higher!.now() : undefined;
          const from = Date.now();
          const extracted = await extractWhole(doc, whole!.docId, whole!.signal, yieldNow);
          const extractSpan: [number, number] = [from, Date.now()];
          done = extracted.pages.length === doc.pageCount;
          const costs = !done && s.processing.adaptiveChunks ? await doc.pageCosts() : undefined;
          return { meta, costs, extracted, extractSpan };
        }
        return { meta, costs: s.processing.adaptiveChunks ? await doc.pageCosts() : undefined };
      },
      data,
      reading,
    );
    if (done) s.documents.forget(object, runId);
    return read;
  } catch (err) {
    s.documents.forget(object, runId);
    throw err;
  }
}

/**
 * A submission that may end in split: its document opened (and, when small, extracted) while its
 * job is looked up. A job means another run owns the document (or this submission's earlier
 * delivery planned chunks); then the extraction is dropped.
 */
async function splitSmall(
  input: Submission,
  ctx: StageContext,
  h: SubmitHeaders,
  startedAt: number,
): Promise<SplitOutcome> {
  const s = ctx.services;
  const { docId, runId, priority } = ctx.task;
  const existing = s.jobs.load(docId, true);
  // Awaited below; until then a failed read must not surface as an unhandled rejection.
  existing.catch(() => {});
  const bytes = await documentBytes(s, h, input, docId, runId);
  const read = await readDocument(s, bytes.object, runId, bytes.data, readingOf(h), {
    docId,
    priority,
    signal: ctx.signal,
    pending: ctx.pending,
    hasJob: async () => (await existing) !== undefined,
  });
  const job = (await existing)?.job;
  if (job) return (await joinJob(s, job, runId, h, false)) ?? { outcome: "joined" };
  if (!read.extracted || read.extracted.pages.length < read.meta.pageCount) {
    // Larger than one task, or a busy whole one that yielded: today's path (its first chunk done
    // already when it yielded), with the final-result check it skipped so far.
    if (await hasFinal(s.jsm, docId)) return { outcome: "joined" };
    return planJob(s, ctx, h, input, bytes, read, startedAt, await resolvePipeline(s, h.pipeline));
  }
  const [from, to] = read.extractSpan ?? [startedAt, startedAt];
  return endWholeDocument(s, {
    task: { taskId: ctx.task.taskId, agentId: ctx.agentId, delivery: ctx.delivery, startedAt },
    docId,
    runId,
    priority,
    headers: h,
    submittedAt: input.submittedAt,
    meta: read.meta,
    extracted: read.extracted,
    stageMs: { split: Math.max(0, from - startedAt), extract: Math.max(0, to - from) },
  });
}

/** A document that has a job: this run's (make sure its tasks exist) or another's (join it). */
async function joinJob(
  s: AgentServices,
  job: Job,
  runId: string,
  h: SubmitHeaders,
  reprocess: boolean,
): Promise<SplitOutcome | undefined> {
  if (job.runId === runId) {
    // A redelivery of the submission that created this run (reprocessing or not): make sure its
    // tasks exist; their ids are the same, so the stream drops repeats. The result goes out even
    // when the document has finished meanwhile (its holder died between publishing the tasks and
    // the result): every delivery that completes leaves its result.
    if (job.status === "running") {
      // A reprocess whose holder died between recording the job and marking the takeover.
      if (reprocess) await takeOverFinal(s.js, job.docId, runId);
      await publishFirstTasks(s, job, h.password);
    }
    return planned(job);
  }
  // Another submission of a document that has a job: it joins that job (and its result).
  return reprocess ? undefined : { outcome: "joined" };
}

/**
 * Stores the bytes, plans the chunks, records the job and publishes its first tasks. A document
 * that yielded (`read.extracted` its first pages) has those pages as chunk 0, whose extract result
 * split publishes as that chunk's task would (its task id as the message id), in place of the task.
 */
async function planJob(
  s: AgentServices,
  ctx: StageContext,
  h: SubmitHeaders,
  input: Submission,
  bytes: Bytes,
  read: DocumentRead,
  startedAt: number,
  pipeline: Awaited<ReturnType<typeof resolvePipeline>>,
): Promise<SplitOutcome> {
  const { docId, runId, priority } = ctx.task;
  const reprocess = h.reprocess === "true";
  const { meta, costs } = read;
  const object = { ...bytes.object, size: (await storeBytes(s, bytes, h)).size };
  // The agents of this host that extract its chunks read the bytes from memory.
  s.documents.share(object, runId, bytes.data);

  const agents = Math.max(1, await s.liveAgents("extract"));
  const now = Date.now();
  const opts = { agents, ...s.processing, ...(costs && { costs }) };
  const first = read.extracted;
  const chunks = first
    ? planChunksAfter(first.pages.length, meta.pageCount, opts)
    : planChunks(meta.pageCount, opts);
  const [from, to] = read.extractSpan ?? [now, now];
  const job: Job = {
    v: 1,
    docId,
    runId,
    kind: "document",
    status: "running",
    priority,
    source: h.source ?? null,
    pipeline: pipeline.map((p) => p.stage),
    object,
    ...(h.engine && { reading: { engine: h.engine } }),
    pageCount: meta.pageCount,
    meta,
    chunks,
    tasks: pipelineTasks(pipeline, chunks),
    pagesDone: 0,
    // The first chunk's extraction counts as extract, from its result.
    stageMs: { split: Math.max(0, now - startedAt - (first ? to - from : 0)) },
    submittedAt: input.submittedAt,
    updatedAt: now,
  };
  const stored = (await s.jobs.record(job, reprocess)).job;
  // Another submission of this document won the race; it owns the job.
  if (stored.runId !== runId) return { outcome: "joined" };
  // What is stored: an earlier delivery of this submission may have recorded its own plan.
  if (stored.status === "running") {
    // Only now, with the job recorded, does a reprocess take the final result over: a submission
    // that fails before this leaves the document as it was (the coordinator then ends it with
    // that failure, progress.ts), and no writer of the replaced run stores a final after this.
    if (reprocess) await takeOverFinal(s.js, docId, runId);
    // Only with the plan these pages are chunk 0 of: an earlier delivery's may cut it elsewhere,
    // and then its extract task does chunk 0.
    const own = first && samePages(stored.chunks[0], chunks[0]);
    await Promise.all([
      own &&
        publishResult(
          s,
          { taskId: taskId(docId, runId, "extract", 0), docId, runId, stage: "extract", index: 0 },
          ctx.delivery,
          from,
          { status: "ok", output: first },
          { finishedAt: to },
        ),
      publishFirstTasks(s, stored, h.password, own ? "extract.0" : undefined),
    ]);
  }
  return planned(stored);
}

function samePages(a: PageRange | undefined, b: PageRange | undefined): boolean {
  return a !== undefined && b !== undefined && a.firstPage === b.firstPage && a.lastPage === b.lastPage;
}

async function split(input: Submission, ctx: StageContext): Promise<SplitOutcome> {
  const s = ctx.services;
  const { docId, runId } = ctx.task;
  const startedAt = Date.now();
  annotateSpan({ "docswarm.run.id": runId });
  const parsed = validate(SubmitHeaders, input.headers);
  if (!parsed.ok) throw new StageError("HEADER_INVALID", `submission headers: ${parsed.message}`);
  const h = parsed.value;
  if (mayEndInSplit(h)) return splitSmall(input, ctx, h, startedAt);
  const reprocess = h.reprocess === "true";

  const [existing, ended] = await Promise.all([
    s.jobs.load(docId, true),
    reprocess ? false : hasFinal(s.jsm, docId),
  ]);
  if (existing) {
    const joined = await joinJob(s, existing.job, runId, h, reprocess);
    if (joined) return joined;
  }
  // A document that ended and whose job has left the jobs bucket: its stored final result answers.
  if (ended) return { outcome: "joined" };
  const pipeline = await resolvePipeline(s, h.pipeline);

  const bytes = await documentBytes(s, h, input, docId, runId);
  const read = await readDocument(s, bytes.object, runId, bytes.data, readingOf(h));
  return planJob(s, ctx, h, input, bytes, read, startedAt, pipeline);
}

/**
 * After split failed for good: an upload that never became the document's object has no one else
 * to remove it.
 */
export async function splitFailed(
  input: Submission,
  task: { docId: string; runId: string },
  s: AgentServices,
) {
  const id = input.headers.upload;
  if (!id) return;
  const object = await s.state.docs.info(`${task.docId}.${task.runId}`).catch(() => null);
  if (!object || object.deleted) await purgeUpload(s.jsm, id).catch(() => {});
}

export const splitStage = defineStage({
  name: "split",
  input: SplitInput,
  output: SplitOutcome,
  process: split,
});
