// Task envelope on docswarm.task.<stage>.<priority>, and the inputs of the built-in stages.
import { z } from "zod";
import { DocId, EpochMs, Priority, StageName, TaskId } from "./common.ts";
import { DocReading, ObjectRef, PageRange } from "./document.ts";
import { InputMode, TaskKey, TaskMode } from "./job.ts";

export const Task = z
  .object({
    v: z.literal(1),
    /** `<docId>.<runId>.<stage>.<index>`; also the Nats-Msg-Id of the task and of its result. */
    taskId: TaskId,
    docId: DocId,
    /** Changes when a document is processed again on request, so old task ids stay distinct. */
    runId: z.string().regex(/^[a-z0-9]{1,16}$/),
    stage: StageName,
    priority: Priority,
    index: z.number().int().nonnegative(),
    /** `<stage>.<index>`, the task's name within its job (informational; derived when absent). */
    key: TaskKey.optional(),
    mode: TaskMode.default("process"),
    inputMode: InputMode.default("static"),
    /** Tasks whose results this one reads (all done before it was released). */
    deps: z.array(z.object({ key: TaskKey, taskId: TaskId })).default([]),
    /** Stage-specific; validated by the stage's own input schema (after assembly, see inputMode). */
    input: z.unknown().optional(),
    createdAt: EpochMs,
  })
  .meta({ id: "Task" });
export type Task = z.infer<typeof Task>;
/** A task as a publisher may write it: key, mode, inputMode and deps have defaults. */
export type TaskInput = z.input<typeof Task>;

export const ExtractInput = z
  .object({
    object: ObjectRef,
    range: PageRange,
    pageCount: z.number().int().positive(),
    reading: DocReading.optional(),
  })
  .meta({ id: "ExtractInput" });
export type ExtractInput = z.infer<typeof ExtractInput>;

export const MergeInput = z
  .object({ chunks: z.number().int().nonnegative(), pageCount: z.number().int().nonnegative() })
  .meta({ id: "MergeInput" });
export type MergeInput = z.infer<typeof MergeInput>;
