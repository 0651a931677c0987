// Job record in the docswarm-jobs bucket, keyed by doc (or job) id; written with compare-and-set.
// A job is a DAG of tasks: the coordinator releases a task when all its dependencies are done.
import { z } from "zod";
import { DocId, EpochMs, ErrorInfo, Priority, StageName } from "./common.ts";
import { DocMeta, JobReading, ObjectRef, PageRange } from "./document.ts";

export const JOB_STATUSES = ["running", "done", "failed"] as const;
export const TASK_STATES = ["pending", "released", "done", "failed"] as const;

/** `<stage>.<index>`: unique within one run of a job. */
export const TaskKey = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}\.\d{1,6}$/, "<stage>.<index>")
  .meta({ id: "TaskKey" });
export type TaskKey = z.infer<typeof TaskKey>;

/**
 * How an agent builds a task's input: `static` uses the task's own input; `deps` passes the outputs
 * of its dependencies in order; `chunk` and `document` assemble extracted pages and earlier stage
 * outputs of one chunk or of the whole document (pipeline stages).
 */
export const INPUT_MODES = ["static", "deps", "chunk", "document"] as const;
export const InputMode = z.enum(INPUT_MODES);
export type InputMode = z.infer<typeof InputMode>;

/** `process` runs the stage; `merge` runs its merge() over its dependencies' outputs. */
export const TaskMode = z.enum(["process", "merge"]);
export type TaskMode = z.infer<typeof TaskMode>;

export const JobTask = z
  .object({
    stage: StageName,
    index: z.number().int().nonnegative(),
    deps: z.array(TaskKey),
    state: z.enum(TASK_STATES),
    inputMode: InputMode,
    mode: TaskMode,
    input: z.unknown().optional(),
    /** Why it failed; DEPENDENCY_FAILED when a task it depends on failed. */
    error: ErrorInfo.optional(),
    /**
     * The results stream sequence of the result that counted this task, recorded by the coordinator
     * in the update that counts it, so the job's end deletes its results without reading them.
     */
    resultSeq: z.number().int().positive().optional(),
  })
  .meta({ id: "JobTask" });
export type JobTask = z.infer<typeof JobTask>;

export const Job = z
  .object({
    v: z.literal(1),
    docId: DocId,
    runId: z.string().regex(/^[a-z0-9]{1,16}$/),
    /** A PDF document through a pipeline, or a DAG of tasks submitted as such. */
    kind: z.enum(["document", "dag"]),
    status: z.enum(JOB_STATUSES),
    priority: Priority,
    source: z.string().nullable(),
    /** Stage names in pipeline order (documents), or the stages the DAG uses. */
    pipeline: z.array(StageName).min(1),
    object: ObjectRef.nullable(),
    /** The engine the submission asked for (Docswarm-Engine); the password never comes here. */
    reading: JobReading.optional(),
    pageCount: z.number().int().nonnegative(),
    meta: DocMeta.nullable(),
    chunks: z.array(PageRange),
    tasks: z.record(TaskKey, JobTask),
    pagesDone: z.number().int().nonnegative(),
    stageMs: z.record(z.string(), z.number().nonnegative()),
    submittedAt: EpochMs,
    updatedAt: EpochMs,
    finishedAt: EpochMs.optional(),
    error: ErrorInfo.optional(),
    /**
     * The coordinator term (leader lease revision) of the last leader that wrote this job. A leader
     * writes a job only while this is not above its own term (compare-and-set on the revision read),
     * and a new leader raises it on every running job before it consumes: a deposed leader's write is
     * refused by the server (jobs/store.ts).
     */
    term: z.number().int().nonnegative().optional(),
  })
  .meta({ id: "Job" });
export type Job = z.infer<typeof Job>;
