// DAG jobs: a set of tasks with dependencies, submitted as one job (mapReduce, processDistributed,
// scatter-gather). The coordinator releases each task when its dependencies are done.
import { z } from "zod";
import { DocId, EpochMs, ErrorInfo, Priority, StageName } from "./common.ts";
import { InputMode, TaskKey, TaskMode } from "./job.ts";

export const TaskSpec = z
  .object({
    key: TaskKey,
    stage: StageName,
    input: z.unknown().optional(),
    deps: z.array(TaskKey).default([]),
    /** Default: `static` without deps, `deps` (the dependencies' outputs, in order) with them. */
    inputMode: InputMode.extract(["static", "deps"]).optional(),
    mode: TaskMode.default("process"),
  })
  .meta({ id: "TaskSpec" });
export type TaskSpec = z.infer<typeof TaskSpec>;

export const JobSpec = z
  .object({
    v: z.literal(1),
    jobId: DocId,
    priority: Priority.default("normal"),
    tasks: z.array(TaskSpec).min(1).max(100_000),
  })
  .meta({ id: "JobSpec", description: "Published on docswarm.jobs.submit" });
export type JobSpec = z.infer<typeof JobSpec>;
export type JobSpecInput = z.input<typeof JobSpec>;

/** The one final result of a DAG job, on docswarm.done.<jobId>. */
export const JobResult = z
  .object({
    v: z.literal(1),
    kind: z.literal("job"),
    jobId: DocId,
    status: z.enum(["done", "failed"]),
    /** Outputs of the tasks nothing depends on, by task key. */
    outputs: z.record(z.string(), z.unknown()),
    timings: z.object({ submittedAt: EpochMs, finishedAt: EpochMs, totalMs: z.number().nonnegative() }),
    error: ErrorInfo.optional(),
  })
  .meta({ id: "JobResult" });
export type JobResult = z.infer<typeof JobResult>;
