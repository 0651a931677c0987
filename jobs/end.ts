// Where a document ends: the one function that writes a document's (or DAG job's) final result.
// Merge, the coordinator failing a document and DAG jobs finishing all end here, so the at-most-once
// protocol (jobs/final.ts) has a single writer to reason about.
import type { JetStreamClient } from "@nats-io/jetstream";
import type { FinalResult, JobResult } from "../schemas/index.ts";
import type { JetStreamPublisher } from "../streams/index.ts";
import { type FinalLimits, type PublishFinalOutcome, publishDone } from "./final.ts";

/** `headers`: stored with the final (split's summary header, which the coordinator announces from). */
export type Ending =
  | { kind: "document"; final: FinalResult; runId: string; headers?: Record<string, string> }
  | { kind: "job"; result: JobResult; runId: string };

/**
 * Writes the final result of `ending` unless the document already has one, or a reprocess took the
 * document over from this run ("exists" either way). `publisher`: the connection's raw publisher,
 * for a writer on the hot path (split ending a small document).
 */
export function endDocument(
  js: JetStreamClient,
  ending: Ending,
  limits: FinalLimits,
  publisher?: JetStreamPublisher,
): Promise<PublishFinalOutcome> {
  return ending.kind === "document"
    ? publishDone(js, ending.final.docId, ending.final, ending.runId, limits, publisher, ending.headers)
    : publishDone(js, ending.result.jobId, ending.result, ending.runId, limits, publisher);
}
