// NATS header names of the wire contract, and the schema for what a submitter may send.
import { z } from "zod";
import { DocId, EpochMs, Priority, TaskId } from "./common.ts";
import { EngineName } from "./document.ts";
import { SplitFinished } from "./result.ts";

export const HEADERS = {
  docId: "Docswarm-Doc-Id",
  priority: "Docswarm-Priority",
  /**
   * Retired: it named an object of the docs store holding the bytes. A submission carrying it
   * fails HEADER_INVALID; large documents go as uploads (`upload`).
   */
  object: "Docswarm-Object",
  /** Id of an upload: chunks on $O.docswarm-docs.C.<id> (how submitters send documents above max payload). */
  upload: "Docswarm-Upload",
  /** Size in bytes and SHA-256 (`SHA-256=<base64url>`) of the upload; split checks both. */
  uploadSize: "Docswarm-Upload-Size",
  uploadDigest: "Docswarm-Upload-Digest",
  /** "true" asks to process a document again even if it already has a final result. */
  reprocess: "Docswarm-Reprocess",
  /** The submitter's name for the document (a file path), echoed in the final result. */
  source: "Docswarm-Source",
  /** A named pipeline, or an inline one: "split,extract,keywords,summary:document,merge". */
  pipeline: "Docswarm-Pipeline",
  /** The PDF engine to read this document with ("pdfium" or "pdfjs"); the other stays the fallback. */
  engine: "Docswarm-Engine",
  /**
   * The password of an encrypted document. It travels in the submission message until split has
   * processed it, and in the input of the document's extract tasks until they are done (both are
   * work-queue messages, deleted on acknowledgement): anyone allowed to read the submit and task
   * streams can read it meanwhile. It is never put in the job, a result, an event, a log line or
   * a dead letter's copy (the DLQ copy drops it).
   */
  password: "Docswarm-Password",
  /**
   * On a final result that split wrote for a document it ended itself (layout 4): the JSON
   * FinalSummary the coordinator announces the document from (its consumer of the done stream is
   * headers-only). Its absence means the job path (merge, DAG, a coordinator's failure) or a split
   * result announces the document.
   */
  summary: "Docswarm-Summary",
  traceparent: "traceparent",
  msgId: "Nats-Msg-Id",
} as const;

export const SubmitHeaders = z
  .object({
    docId: DocId.optional(),
    priority: Priority.optional(),
    object: z.string().min(1).max(256).optional(),
    upload: z
      .string()
      .regex(/^[A-Za-z0-9]{8,64}$/)
      .optional(),
    uploadSize: z.coerce.number().int().positive().optional(),
    uploadDigest: z
      .string()
      .regex(/^SHA-256=[A-Za-z0-9_-]+=*$/)
      .optional(),
    reprocess: z.enum(["true", "false"]).optional(),
    source: z.string().max(1024).optional(),
    pipeline: z.string().min(1).max(1024).optional(),
    engine: EngineName.optional(),
    password: z.string().max(1024).optional(),
  })
  .meta({ id: "SubmitHeaders", description: "Headers of a message on docswarm.submit[.<priority>]" });
export type SubmitHeaders = z.infer<typeof SubmitHeaders>;

/** Headers docswarm adds when it copies a message to docswarm.dlq.<stage>. */
export const DLQ_HEADERS = {
  stream: "Docswarm-Dlq-Stream",
  seq: "Docswarm-Dlq-Seq",
  subject: "Docswarm-Dlq-Subject",
  consumer: "Docswarm-Dlq-Consumer",
  deliveries: "Docswarm-Dlq-Deliveries",
  code: "Docswarm-Dlq-Code",
  reason: "Docswarm-Dlq-Reason",
  at: "Docswarm-Dlq-At",
  docId: "Docswarm-Dlq-Doc-Id",
  taskId: "Docswarm-Dlq-Task-Id",
  /** "password": the original carried the document's password, which the copy does not keep. */
  redacted: "Docswarm-Dlq-Redacted",
} as const;

/**
 * What the coordinator needs to announce a document split ended itself (events, task metrics),
 * carried as the Docswarm-Summary header of its final result instead of a split result: who ended
 * it and when, then SplitFinished's fields (taken from it, so both ways of announcing a document
 * say the same) but `outcome` and `inline` (the final shows whether it fit).
 */
export const FinalSummary = z
  .object({
    v: z.literal(1),
    docId: DocId,
    runId: z.string().regex(/^[a-z0-9]{1,16}$/),
    /** Split's task (for its metrics: duration, redeliveries). */
    taskId: TaskId,
    agentId: z.string().min(1).max(256),
    delivery: z.number().int().positive(),
    startedAt: EpochMs,
    finishedAt: EpochMs,
    ...SplitFinished.omit({ outcome: true, inline: true }).shape,
  })
  .meta({ id: "FinalSummary", description: "The Docswarm-Summary header of a final split wrote" });
export type FinalSummary = z.infer<typeof FinalSummary>;
