// Reading what earlier tasks produced: one result by direct get, or all of a document's results in
// one batched read, and assembling the input of chunk and document stages from them.
import {
  type ChunkStageInput,
  type DocumentStageInput,
  decodeJson,
  ExtractOutput,
  Job,
  type PageText,
  type Task,
  TaskResult,
  validate,
} from "../schemas/index.ts";
import { readSubject, STREAMS, subjects } from "../streams/index.ts";
import { StageError } from "./errors.ts";
import type { AgentServices } from "./services.ts";

const decoder = new TextDecoder();

/** A result's output, fetched from the object store when it was too large for the message. */
export async function resultOutput(s: AgentServices, r: TaskResult): Promise<unknown> {
  if (!r.outputObject) return r.output;
  const data = await s.documents.bytes(r.outputObject).catch(() => undefined);
  if (!data) throw new StageError("RESULT_MISSING", `output of ${r.taskId} is missing`, { retryable: true });
  return JSON.parse(decoder.decode(data));
}

/** The latest ok result of each task of this run of a document, by task key. */
export async function readRunResults(
  s: AgentServices,
  docId: string,
  runId: string,
): Promise<Map<string, TaskResult>> {
  const out = new Map<string, TaskResult>();
  for (const m of await readSubject(s.jsm, STREAMS.results, subjects.results(docId))) {
    const r = decodeJson(TaskResult, m.data);
    if (r.ok && r.value.runId === runId && r.value.status === "ok")
      out.set(`${r.value.stage}.${r.value.index}`, r.value);
  }
  return out;
}

async function readOne(s: AgentServices, docId: string, key: string, taskId: string): Promise<TaskResult> {
  const m = await s.jsm.streams
    .getMessage(STREAMS.results, { last_by_subj: subjects.result(docId, key) })
    .catch(() => null);
  const r = m ? decodeJson(TaskResult, m.data) : undefined;
  if (!r?.ok || r.value.taskId !== taskId || r.value.status !== "ok") {
    throw new StageError("RESULT_MISSING", `result of ${key} of ${docId} is missing`, { retryable: true });
  }
  return r.value;
}

export async function readJob(s: AgentServices, docId: string): Promise<Job> {
  const e = await s.state.jobs.get(docId);
  const j = e?.value.length ? decodeJson(Job, e.value) : undefined;
  if (!j?.ok) throw new StageError("RESULT_MISSING", `no job record for ${docId}`, { retryable: true });
  return j.value;
}

function pagesOf(output: unknown, key: string): PageText[] {
  const out = validate(ExtractOutput, output);
  if (!out.ok) throw new StageError("SCHEMA_INVALID", `output of ${key}: ${out.message}`);
  return out.value.pages;
}

/** Outputs of a task's dependencies, in the order it lists them. */
export async function depOutputs(s: AgentServices, task: Task): Promise<unknown[]> {
  if (task.deps.length > 32) {
    const all = await readRunResults(s, task.docId, task.runId);
    return Promise.all(
      task.deps.map((d) => {
        const r = all.get(d.key);
        if (!r)
          throw new StageError("RESULT_MISSING", `result of ${d.key} of ${task.docId} is missing`, {
            retryable: true,
          });
        return resultOutput(s, r);
      }),
    );
  }
  const results = await Promise.all(task.deps.map((d) => readOne(s, task.docId, d.key, d.taskId)));
  return Promise.all(results.map((r) => resultOutput(s, r)));
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

/** All pages in order, and every user stage's output: per-chunk stages as arrays in chunk order. */
export async function documentInput(
  s: AgentServices,
  docId: string,
  runId: string,
): Promise<DocumentStageInput & { chunks: number }> {
  const [job, results] = await Promise.all([readJob(s, docId), readRunResults(s, docId, runId)]);
  const pages: PageText[] = [];
  const stages: Record<string, unknown> = {};
  const scopes = new Map(Object.values(job.tasks).map((t) => [t.stage, t.inputMode]));
  for (const [key, t] of Object.entries(job.tasks)) {
    if (t.stage === "merge" || t.state !== "done") continue;
    const r = results.get(key);
    if (!r)
      throw new StageError("RESULT_MISSING", `result of ${key} of ${docId} is missing`, { retryable: true });
    const output = await resultOutput(s, r);
    if (t.stage === "extract") pages.push(...pagesOf(output, key));
    else if (scopes.get(t.stage) === "chunk") {
      if (!Array.isArray(stages[t.stage]))
        stages[t.stage] = Array.from({ length: job.chunks.length }, () => null);
      (stages[t.stage] as unknown[])[t.index] = output;
    } else stages[t.stage] = output;
  }
  pages.sort((a, b) => a.page - b.page);
  return { docId, pageCount: job.pageCount, meta: job.meta, pages, stages, chunks: job.chunks.length };
}
