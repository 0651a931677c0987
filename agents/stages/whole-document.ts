// A document that fits one chunk (or, while the swarm is busy, one that is not too long), in the
// default pipeline, is extracted and ended by split itself: one task, one open, one parse, and no
// job record, no stored copy of its bytes, no extract or merge task. Exactly-once rests on the final result alone (jobs/end.ts: message id <docId>.<runId>.final,
// expected last subject sequence 0): a redelivered or duplicate submission that extracts again finds
// the stored final and changes nothing. The coordinator learns it finished from the final itself (a
// summary header its headers-only consumer of the done stream reads, layout 4), or, on an older
// layout, from split's result.
import { endDocument, storedFinalOf } from "../../jobs/index.ts";
import { withSpan, withTraceHeaders } from "../../observability/thread.ts";
import {
  DEFAULT_PIPELINE_TEXT,
  type DocMeta,
  type FinalResult,
  type FinalSummary,
  HEADERS,
  type Priority,
  type SplitFinished,
  type SubmitHeaders,
} from "../../schemas/index.ts";
import { purgeUpload, STREAMS } from "../../streams/index.ts";
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
 * Whether an opened document is one task here, and why: this agent extracts too (an agent kept to
 * splitting, say on a small ingest host, leaves extraction to the extract agents), and it has at
 * most wholeDocumentMaxPages pages (and fits one chunk: "small"), or at most
 * busyWholeDocumentMaxPages while the swarm is busy (`busy`, asked only then: "busy"): chunks of it
 * would find every other agent already at work, so they add no parallelism, only a task, a result
 * and a job update each, and a merge. A "busy" document yields to higher-priority work between its
 * pages (./higher-work.ts): what is left of it is chunked then (split.ts).
 */
export async function fitsOneTask(
  s: AgentServices,
  doc: PdfDocument,
  busy: () => Promise<boolean>,
): Promise<"small" | "busy" | undefined> {
  if (!s.stages.includes("extract")) return undefined;
  const { chunkMaxPages, wholeDocumentMaxPages, busyWholeDocumentMaxPages } = s.processing;
  if (doc.pageCount <= Math.min(chunkMaxPages, wholeDocumentMaxPages)) return "small";
  return doc.pageCount <= busyWholeDocumentMaxPages && (await busy()) ? "busy" : undefined;
}

/**
 * Whether the swarm is busy for a submission delivered with `pending` more waiting behind it: at
 * least one per other live extract agent, so each of them has a document of its own to take; or,
 * when every live extract agent is on this host, none of the others is idle now (the idle board),
 * so chunks would wait for them anyway. A lone agent is always busy: chunks cannot run anywhere
 * else. A backlog's last documents are chunked only when an agent is free for their chunks; one
 * that goes whole hands its rest on when an agent runs out of work (./idle-work.ts).
 */
export async function swarmBusy(s: AgentServices, pending: number | undefined): Promise<boolean> {
  if (pending === undefined) return false;
  const live = await s.liveAgents("extract");
  if (pending >= Math.max(0, live - 1)) return true;
  const board = s.idle;
  return board !== undefined && board.idle === 0 && board.serving >= live;
}

/**
 * Every page of a document, in an extract span of its own (trace views show extraction); with
 * `yieldNow`, the pages up to the one after which it said so.
 */
export function extractWhole(
  doc: PdfDocument,
  docId: string,
  signal: AbortSignal,
  yieldNow?: () => boolean | Promise<boolean>,
): Promise<ExtractedPages> {
  const span = { firstPage: 1, lastPage: doc.pageCount };
  const attributes = {
    "docswarm.doc.id": docId,
    "docswarm.page.first": span.firstPage,
    "docswarm.page.last": span.lastPage,
  };
  return withSpan("docswarm.extract", { attributes }, () => extractPages(doc, span, signal, yieldNow));
}

export type WholeDocument = {
  /** Split's task, for the coordinator's metrics of it. */
  task: { taskId: string; agentId: string; delivery: number; startedAt: number };
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

/** The layout that has the coordinator's consumer of finals (coordinator-finals). */
const FINALS_LAYOUT = 4;
/** How long a layout read stands (AgentHostOptions.layoutTtlMs in tests): an upgrade is seen within this. */
const LAYOUT_TTL_MS = 30_000;
const layouts = new WeakMap<AgentServices["jsm"], { at: number; finals: Promise<boolean> }>();

/**
 * Whether the coordinator announces this agent's single-task documents from their finals: the done
 * stream says layout 4 or later (`docswarm init` created coordinator-finals with it). Read once per
 * LAYOUT_TTL_MS per connection; unreadable counts as an older layout (split's result goes out).
 */
function finalsAnnounce(s: AgentServices): Promise<boolean> {
  const cached = layouts.get(s.jsm);
  if (cached && Date.now() - cached.at < (s.layoutTtlMs ?? LAYOUT_TTL_MS)) return cached.finals;
  const finals = s.jsm.streams.info(STREAMS.done).then(
    (info) => Number(info.config.metadata?.["docswarm.version"] ?? 1) >= FINALS_LAYOUT,
    () => false,
  );
  layouts.set(s.jsm, { at: Date.now(), finals });
  return finals;
}

/**
 * The split span's trace context, as split's result carried it, so the coordinator's gather of
 * the announcing final continues the document's trace. Empty when nothing is traced.
 */
function traceFields(): Record<string, string> {
  const h = withTraceHeaders();
  return h ? Object.fromEntries(h.keys().map((k) => [k, h.get(k)])) : {};
}

/** What both announcements of a finished document say: the final's summary header and split's result. */
function outcomeOf(d: WholeDocument, final: FinalResult) {
  return {
    status: final.status,
    priority: d.priority,
    pageCount: final.pageCount,
    warnings: final.warnings?.length ?? 0,
    stageMs: d.stageMs,
    totalMs: final.timings.totalMs,
    ...(final.error && { error: final.error }),
  };
}

function summaryOf(d: WholeDocument, final: FinalResult): FinalSummary {
  return {
    v: 1,
    docId: d.docId,
    runId: d.runId,
    ...d.task,
    finishedAt: final.timings.finishedAt,
    ...outcomeOf(d, final),
  };
}

/**
 * Writes the document's final result. "finished": this run's final is stored (now, or by an
 * earlier delivery of this submission); "joined": another run's is, which stands. `announced`: the
 * final carries the coordinator's summary, so split publishes no result. Decided before the final
 * is written and said in it, so a document is announced one way only: a final without the header
 * is never announced from (merge's, a DAG's, a coordinator's failure, an older agent's).
 */
export async function endWholeDocument(
  s: AgentServices,
  d: WholeDocument,
): Promise<{ outcome: "finished"; summary: SplitFinished; announced?: boolean } | { outcome: "joined" }> {
  const final = finalOf(d, Date.now());
  const announced = await finalsAnnounce(s);
  const { outcome, inline } = await endDocument(
    s.js,
    {
      kind: "document",
      final,
      runId: d.runId,
      ...(announced && {
        headers: { [HEADERS.summary]: JSON.stringify(summaryOf(d, final)), ...traceFields() },
      }),
    },
    { maxPayloadBytes: s.maxPayloadBytes, maxResultBytes: s.topology.doneMaxResultBytes },
    s.publisher,
  );
  // Refused: a duplicate submission's run (or a DAG job) got there first, unless the stored final
  // is this run's own from an earlier delivery (the expected sequence refuses it before the dedup
  // window would). Then that final says how the document is announced: by its summary header (the
  // coordinator has it), or, without one (written on an older layout), by split's result.
  let byFinal = announced;
  if (outcome === "exists") {
    const stored = await storedFinalOf(s.jsm, d.docId);
    if (stored?.runId !== d.runId) {
      // An upload is this submission's alone (a fresh id); nobody else removes it.
      if (d.headers.upload) await purgeUpload(s.jsm, d.headers.upload).catch(() => {});
      return { outcome: "joined" };
    }
    byFinal = stored.summary;
  }
  await dropSubmittedBytes(s, d.headers);
  return {
    outcome: "finished",
    ...(byFinal && { announced: true }),
    summary: { outcome: "finished", ...outcomeOf(d, final), inline },
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
