// Job record in the docswarm-jobs bucket, keyed by doc id; written with compare-and-set.
import { z } from "zod";
import { DocId, EpochMs, ErrorInfo, Priority, StageName } from "./common.ts";
import { DocMeta, ObjectRef, PageRange } from "./document.ts";

export const JOB_STATUSES = ["running", "merging", "done", "failed"] as const;

export const Job = z
  .object({
    v: z.literal(1),
    docId: DocId,
    runId: z.string().regex(/^[a-z0-9]{1,16}$/),
    status: z.enum(JOB_STATUSES),
    priority: Priority,
    source: z.string().nullable(),
    pipeline: z.array(StageName).min(1),
    object: ObjectRef,
    pageCount: z.number().int().nonnegative(),
    meta: DocMeta,
    chunks: z.array(PageRange),
    /** Indexes of chunks whose result the coordinator has counted (each once). */
    chunksDone: z.array(z.number().int().nonnegative()),
    pagesDone: z.number().int().nonnegative(),
    stageMs: z.record(z.string(), z.number().nonnegative()),
    submittedAt: EpochMs,
    updatedAt: EpochMs,
    finishedAt: EpochMs.optional(),
    error: ErrorInfo.optional(),
  })
  .meta({ id: "Job" });
export type Job = z.infer<typeof Job>;
