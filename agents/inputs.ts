// Assembling what a task reads from earlier tasks (jobs/results.ts reads the results stream): its
// dependencies' outputs, and the inputs of chunk and document stages.

import { readRunResults, readTaskResult, resultOutput } from "../jobs/index.ts";
import {
  type ChunkStageInput,
  type DocumentStageInput,
  type DocWarning,
  decodeJson,
  ExtractOutput,
  Job,
  type PageText,
  type Task,
  type TaskResult,
  validate,
} from "../schemas/index.ts";
import { BUCKETS } from "../streams/index.ts";
import { StageError } from "./errors.ts";
import type { AgentServices } from "./services.ts";

function missing(key: string, docId: string): StageError {
  return new StageError("RESULT_MISSING", `result of ${key} of ${docId} is missing`, { retryable: true });
}

/** A result's output, fetched from the object store when it was too large for the message. */
async function outputOf(s: AgentServices, r: TaskResult): Promise<unknown> {
  const out = await resultOutput(r, (ref) => s.documents.bytes(ref).catch(() => null));
  if (out === undefined && r.outputObject)
    throw new StageError("RESULT_MISSING", `output of ${r.taskId} is missing`, { retryable: true });
  return out;
}

/**
 * The job as its stream's leader has it: what a stage builds its output from must be current, and a
 * KV get (a direct get) can be answered by a replica cut off from the leader, from what it had.
 */
export async function readJob(s: AgentServices, docId: string): Promise<Job> {
  const m = await s.jsm.streams.getMessage(`KV_${BUCKETS.jobs}`, {
    last_by_subj: `$KV.${BUCKETS.jobs}.${docId}`,
  });
  const j = m?.data.length ? decodeJson(Job, m.data) : undefined;
  if (!j?.ok) throw new StageError("RESULT_MISSING", `no job record for ${docId}`, { retryable: true });
  return j.value;
}

function extracted(output: unknown, key: string): ExtractOutput {
  const out = validate(ExtractOutput, output);
  if (!out.ok) throw new StageError("SCHEMA_INVALID", `output of ${key}: ${out.message}`);
  return out.value;
}

const pagesOf = (output: unknown, key: string): PageText[] => extracted(output, key).pages;

/** Outputs of a task's dependencies, in the order it lists them. */
export async function depOutputs(s: AgentServices, task: Task): Promise<unknown[]> {
  const all = task.deps.length > 32 ? await readRunResults(s.jsm, task.docId, task.runId) : undefined;
  const results = await Promise.all(
    task.deps.map(async (d) => {
      const r = all ? all.get(d.key) : await readTaskResult(s.jsm, task.docId, d.key, d.taskId);
      if (!r) throw missing(d.key, task.docId);
      return r;
    }),
  );
  return Promise.all(results.map((r) => outputOf(s, r)));
}

export async function chunkInput(s: AgentServices, task: Task): Promise<ChunkStageInput> {
  const outputs = await depOutputs(s, task);
  const range = (task.input as { range?: ChunkStageInput["range"] })?.range;
  if (!range) throw new StageError("SCHEMA_INVALID", `chunk task ${task.taskId} has no range`);
  let pages: PageText[] = [];
  const previous: Record<string, unknown> = {};
  task.deps.forEach((d, i) => {
    const stage = d.key.slice(0, d.key.lastIndexOf("."));
    if (stage === "extract") pages = pagesOf(outputs[i], d.key);
    else previous[stage] = outputs[i];
  });
  return { docId: task.docId, range, pages, previous };
}

/**
 * All pages in order, and every user stage's output (per-chunk stages as arrays in chunk order),
 * with the job they were read for.
 */
export async function documentInput(
  s: AgentServices,
  docId: string,
  runId: string,
): Promise<{ job: Job; input: DocumentStageInput }> {
  const [job, results] = await Promise.all([readJob(s, docId), readRunResults(s.jsm, docId, runId)]);
  const pages: PageText[] = [];
  const warnings: DocWarning[] = [];
  const stages: Record<string, unknown> = {};
  const scopes = new Map(Object.values(job.tasks).map((t) => [t.stage, t.inputMode]));
  for (const [key, t] of Object.entries(job.tasks)) {
    if (t.stage === "merge" || t.state !== "done") continue;
    const r = results.get(key);
    if (!r) throw missing(key, docId);
    const output = await outputOf(s, r);
    if (t.stage === "extract") {
      const out = extracted(output, key);
      pages.push(...out.pages);
      warnings.push(...out.warnings);
    } else if (scopes.get(t.stage) === "chunk") {
      if (!Array.isArray(stages[t.stage]))
        stages[t.stage] = Array.from({ length: job.chunks.length }, () => null);
      (stages[t.stage] as unknown[])[t.index] = output;
    } else stages[t.stage] = output;
  }
  pages.sort((a, b) => a.page - b.page);
  return { job, input: { docId, pageCount: job.pageCount, meta: job.meta, pages, stages, warnings } };
}
