// Result envelope on docswarm.result.<docId>: the "ack event" of one task, and built-in outputs.
import { z } from "zod";
import { DocId, EpochMs, ErrorInfo, Priority, StageName, TaskId } from "./common.ts";
import { DocMeta, DocWarning, ObjectRef, PageRange, PageText } from "./document.ts";

export const TaskResult = z
  .object({
    v: z.literal(1),
    taskId: TaskId,
    docId: DocId,
    runId: z.string().regex(/^[a-z0-9]{1,16}$/),
    stage: StageName,
    index: z.number().int().nonnegative(),
    status: z.enum(["ok", "failed"]),
    agentId: z.string(),
    /** JetStream delivery count of the task when it produced this result. */
    delivery: z.number().int().positive(),
    startedAt: EpochMs,
    finishedAt: EpochMs,
    output: z.unknown().optional(),
    /** Set instead of `output` when the output was larger than the server's max payload. */
    outputObject: ObjectRef.optional(),
    error: ErrorInfo.optional(),
  })
  .refine((r) => r.status === "ok" || r.error !== undefined, "a failed result carries an error")
  .meta({ id: "TaskResult" });
export type TaskResult = z.infer<typeof TaskResult>;

export const SplitOutput = z
  .object({ pageCount: z.number().int().nonnegative(), chunks: z.array(PageRange), meta: DocMeta })
  .meta({ id: "SplitOutput" });
export type SplitOutput = z.infer<typeof SplitOutput>;

/**
 * Output of a split that ended the document itself (one that fits one chunk, in the default
 * pipeline: extracted where it was opened, its final result written by split): what the
 * coordinator needs to announce it, since no job record exists.
 */
export const SplitFinished = z
  .object({
    outcome: z.literal("finished"),
    /** The stored final result's status. */
    status: z.enum(["done", "failed"]),
    priority: Priority,
    pageCount: z.number().int().nonnegative(),
    /** Warnings on the final result (their number). */
    warnings: z.number().int().nonnegative(),
    stageMs: z.record(z.string(), z.number().nonnegative()),
    /** Submit to final result. */
    totalMs: z.number().nonnegative(),
    /** Whether the final result fit in its message (else it points into docswarm-results). */
    inline: z.boolean(),
    error: ErrorInfo.optional(),
  })
  .meta({ id: "SplitFinished" });
export type SplitFinished = z.infer<typeof SplitFinished>;

/** Output of a failed split: what the coordinator needs to write the final failure. */
export const SplitFailure = z
  .object({
    source: z.string().nullable(),
    submittedAt: z.number().int().nonnegative(),
    /** The submission asked to reprocess: its failure replaces the document's result. */
    reprocess: z.boolean().optional(),
  })
  .meta({ id: "SplitFailure" });
export type SplitFailure = z.infer<typeof SplitFailure>;

export const ExtractOutput = z
  .object({
    pages: z.array(PageText),
    /** What was unusual about the document or these pages (stable codes); see FinalResult.warnings. */
    warnings: z.array(DocWarning).default([]),
  })
  .meta({ id: "ExtractOutput" });
export type ExtractOutput = z.infer<typeof ExtractOutput>;

export const MergeOutput = z
  .object({ pageCount: z.number().int().nonnegative(), inline: z.boolean() })
  .meta({ id: "MergeOutput" });
export type MergeOutput = z.infer<typeof MergeOutput>;
