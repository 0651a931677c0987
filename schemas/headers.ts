// NATS header names of the wire contract, and the schema for what a submitter may send.
import { z } from "zod";
import { DocId, Priority } from "./common.ts";

export const HEADERS = {
  docId: "Docswarm-Doc-Id",
  priority: "Docswarm-Priority",
  /** Name of an object in the docs object store holding the bytes (for documents above max payload). */
  object: "Docswarm-Object",
  /** "true" asks to process a document again even if it already has a final result. */
  reprocess: "Docswarm-Reprocess",
  /** The submitter's name for the document (a file path), echoed in the final result. */
  source: "Docswarm-Source",
  /** A named pipeline, or an inline one: "split,extract,keywords,summary:document,merge". */
  pipeline: "Docswarm-Pipeline",
  traceparent: "traceparent",
  msgId: "Nats-Msg-Id",
} as const;

export const SubmitHeaders = z
  .object({
    docId: DocId.optional(),
    priority: Priority.optional(),
    object: z.string().min(1).max(256).optional(),
    reprocess: z.enum(["true", "false"]).optional(),
    source: z.string().max(1024).optional(),
    pipeline: z.string().min(1).max(1024).optional(),
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
} as const;
