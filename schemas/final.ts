// The one final result per document, on docswarm.done.<docId>.
import { z } from "zod";
import { DocId, EpochMs, ErrorInfo } from "./common.ts";
import { DocMeta, DocWarning, ObjectRef, PageText } from "./document.ts";

export const Timings = z
  .object({
    submittedAt: EpochMs,
    finishedAt: EpochMs,
    /** Submit to final result. */
    totalMs: z.number().nonnegative(),
    /** Time spent in each stage's handlers, summed over its tasks. */
    stageMs: z.record(z.string(), z.number().nonnegative()),
  })
  .meta({ id: "Timings" });
export type Timings = z.infer<typeof Timings>;

export const FinalResult = z
  .object({
    v: z.literal(1),
    /** Documents say "document"; DAG jobs publish a JobResult ("job") on the same subjects. */
    kind: z.literal("document").default("document"),
    docId: DocId,
    status: z.enum(["done", "failed"]),
    /** The submitter's name for the document (Docswarm-Source header), when given. */
    source: z.string().nullable(),
    pageCount: z.number().int().nonnegative(),
    /** Pages in page order. Empty when the result is too large for one message: see pagesObject. */
    pages: z.array(PageText),
    /** When set, the complete result (this object with `pages` filled) is this JSON object. */
    pagesObject: ObjectRef.optional(),
    meta: DocMeta.nullable(),
    /**
     * What was repaired or worked around to read the document (no %%EOF, junk before the header,
     * pages that failed, pages read by the fallback engine): one entry per code. Absent or empty
     * when there is nothing to say (failures before reading have none).
     */
    warnings: z.array(DocWarning).optional(),
    timings: Timings,
    chunks: z.number().int().nonnegative(),
    /** Outputs of user stages in the pipeline: per-chunk stages as arrays in chunk order. */
    stages: z.record(z.string(), z.unknown()).optional(),
    error: ErrorInfo.optional(),
  })
  .refine((r) => r.status === "done" || r.error !== undefined, "a failed result carries an error")
  .meta({ id: "FinalResult" });
export type FinalResult = z.infer<typeof FinalResult>;
