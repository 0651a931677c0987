// A document that fits one chunk (or, while the swarm is busy, one that is not too long), in the
// default pipeline, is extracted and ended by split itself: one task, one open, one parse, and no
// job record, no stored copy of its bytes, no extract or merge task. Exactly-once rests on the final result alone (jobs/end.ts: message id <docId>.<runId>.final,
// expected last subject sequence 0): a redelivered or duplicate submission that extracts again finds
// the stored final and changes nothing. Split's result then tells the coordinator it finished.
import { endDocument, finalRun } from "../../jobs/index.ts";
import { withSpan } from "../../observability/thread.ts";
import {
  DEFAULT_PIPELINE_TEXT,
  type DocMeta,
  type FinalResult,
  type Priority,
  type SplitFinished,
  type SubmitHeaders,
} from "../../schemas/index.ts";
import { purgeUpload } from "../../streams/index.ts";
import type { PdfDocument } from "../pdf/engine.ts";
import { documentWarnings, type ExtractedPages, extractPages } from "../pdf/extract-pages.ts";
import type { AgentServices } from "../services.ts";

/**
 * Whether a submission may end in split when its document is small: not a reprocess (that replaces
 * a job's run, which needs the job), and the default pipeline (user stages and DAGs need the graph).
 * A named pipeline is not read for this: it takes the job's path even when it names the defaults.
 */
export function mayEndInSplit(h: SubmitHeaders): boolean {
  return h.reprocess !== "true" && (h.pipeline === undefined || h.pipeline === DEFAULT_PIPELINE_TEXT);
}

/**
 * Whether an opened document is one task here: this agent extracts too (an agent kept to splitting,
 * say on a small ingest host, leaves extraction to the extract agents), and it has at most
 * wholeDocumentMaxPages pages (and fits one chunk), or at most busyWholeDocumentMaxPages while the
 * swarm is busy (`busy`, asked only then): chunks of it would find every other agent already at
 * work, so they add no parallelism, only a task, a result and a job update each, and a merge.
 */
export async function fitsOneTask(
  s: AgentServices,
  doc: PdfDocument,
  busy: () => Promise<boolean>,
): Promise<boolean> {
  if (!s.stages.includes("extract")) return false;
  const { chunkMaxPages, wholeDocumentMaxPages, busyWholeDocumentMaxPages } = s.processing;
  if (doc.pageCount <= Math.min(chunkMaxPages, wholeDocumentMaxPages)) return true;
  return doc.pageCount <= busyWholeDocumentMaxPages && (await busy());
}

/**
 * Whether the swarm is busy for a submission delivered with `pending` more waiting behind it: at
 * least one per other live extract agent, so each of them has a document of its own to take. A
 * lone agent is always busy: chunks cannot run anywhere else. The last documents of a backlog are
 * not, so its tail is chunked over the agents that run out of work.
 */
export async function swarmBusy(s: AgentServices, pending: number | undefined): Promise<boolean> {
  if (pending === undefined) return false;
  return pending >= Math.max(0, (await s.liveAgents("extract")) - 1);
}

/** Every page of a document, in an extract span of its own (trace views show extraction). */
export function extractWhole(doc: PdfDocument, docId: string, signal: AbortSignal): Promise<ExtractedPages> {
  const span = { firstPage: 1, lastPage: doc.pageCount };
  const attributes = {
    "docswarm.doc.id": docId,
    "docswarm.page.first": span.firstPage,
    "docswarm.page.last": span.lastPage,
  };
  return withSpan("docswarm.extract", { attributes }, () => extractPages(doc, span, signal));
}

export type WholeDocument = {
  docId: string;
  runId: string;
  priority: Priority;
  headers: SubmitHeaders;
  submittedAt: number;
  meta: DocMeta;
  extracted: ExtractedPages;
  stageMs: { split: number; extract: number };
};

/** The final result, as merge builds it from one chunk. */
function finalOf(d: WholeDocument, finishedAt: number): FinalResult {
  const { pages } = d.extracted;
  const { warnings, error } = documentWarnings(pages, d.extracted.warnings);
  return {
    v: 1,
    kind: "document",
    docId: d.docId,
    status: error ? "failed" : "done",
    source: d.headers.source ?? null,
    pageCount: d.meta.pageCount,
    pages,
    meta: d.meta,
    warnings,
    timings: {
      submittedAt: d.submittedAt,
      finishedAt,
      totalMs: Math.max(0, finishedAt - d.submittedAt),
      stageMs: d.stageMs,
    },
    chunks: pages.length > 0 ? 1 : 0,
    ...(error && { error }),
  };
}

/**
 * Writes the document's final result. "finished": this run's final is stored (now, or by an
 * earlier delivery of this submission); "joined": another run's is, which stands.
 */
export async function endWholeDocument(
  s: AgentServices,
  d: WholeDocument,
): Promise<{ outcome: "finished"; summary: SplitFinished } | { outcome: "joined" }> {
  const final = finalOf(d, Date.now());
  const { outcome, inline } = await endDocument(
    s.js,
    { kind: "document", final, runId: d.runId },
    { maxPayloadBytes: s.maxPayloadBytes, maxResultBytes: s.topology.doneMaxResultBytes },
    s.publisher,
  );
  // Refused: a duplicate submission's run (or a DAG job) got there first, unless the stored final
  // is this run's own from a delivery older than the dedup window.
  if (outcome === "exists" && (await finalRun(s.jsm, d.docId)) !== d.runId) {
    // An upload is this submission's alone (a fresh id); nobody else removes it.
    if (d.headers.upload) await purgeUpload(s.jsm, d.headers.upload).catch(() => {});
    return { outcome: "joined" };
  }
  await dropSubmittedBytes(s, d.headers);
  return {
    outcome: "finished",
    summary: {
      outcome: "finished",
      status: final.status,
      priority: d.priority,
      pageCount: final.pageCount,
      warnings: final.warnings?.length ?? 0,
      stageMs: d.stageMs,
      totalMs: final.timings.totalMs,
      inline,
      ...(final.error && { error: final.error }),
    },
  };
}

/**
 * Bytes the submission brought through the object store (an upload's chunks; a named object is
 * refused before, Docswarm-Object is retired, and never removed) have no job whose end removes them: the document ended here, so they go now. A crash before this
 * leaves them to the redelivery (which ends here again) or to the store's age limit.
 */
async function dropSubmittedBytes(s: AgentServices, h: SubmitHeaders): Promise<void> {
  if (h.upload) await purgeUpload(s.jsm, h.upload).catch(() => {});
}
