// A job's graph, which agents and the coordinator both follow: building a document's task graph from its
// pipeline, checking a submitted DAG, and deciding which tasks a completion releases.
import type {
  ExtractInput,
  Job,
  JobTask,
  MergeInput,
  PageRange,
  Pipeline,
  Task,
  TaskKey,
  TaskSpec,
} from "../schemas/index.ts";
import { taskId } from "../streams/index.ts";

export function taskKey(stage: string, index: number): TaskKey {
  return `${stage}.${index}`;
}

/**
 * The tasks of a document: per chunk, extract and then each per-chunk stage (each depending on the
 * chunk's earlier tasks); then each per-document stage (depending on everything before it); then
 * merge (depending on everything). Extract tasks are released at once by split.
 */
export function pipelineTasks(pipeline: Pipeline, chunks: PageRange[]): Record<TaskKey, JobTask> {
  const tasks: Record<TaskKey, JobTask> = {};
  const chunkStages = pipeline.slice(2, -1).filter((s) => s.scope === "chunk");
  const docStages = pipeline.slice(2, -1).filter((s) => s.scope === "document");
  const everything: TaskKey[] = [];
  for (const c of chunks) {
    const chain: TaskKey[] = [taskKey("extract", c.index)];
    tasks[chain[0]!] = {
      stage: "extract",
      index: c.index,
      deps: [],
      state: "released",
      inputMode: "static",
      mode: "process",
    };
    for (const s of chunkStages) {
      const key = taskKey(s.stage, c.index);
      tasks[key] = {
        stage: s.stage,
        index: c.index,
        deps: [...chain],
        state: "pending",
        inputMode: "chunk",
        mode: "process",
      };
      chain.push(key);
    }
    everything.push(...chain);
  }
  for (const s of docStages) {
    const key = taskKey(s.stage, 0);
    tasks[key] = {
      stage: s.stage,
      index: 0,
      deps: [...everything],
      state: "pending",
      inputMode: "document",
      mode: "process",
    };
    everything.push(key);
  }
  tasks[taskKey("merge", 0)] = {
    stage: "merge",
    index: 0,
    deps: everything,
    state: everything.length === 0 ? "released" : "pending",
    inputMode: "static",
    mode: "process",
  };
  return tasks;
}

/**
 * What a task message carries that its job does not keep: the document's password, which only split
 * has (from the submission's header) and only the extract tasks it publishes need.
 */
export type TaskSecrets = { password?: string | undefined };

/** The stage input a task is published with (before the agent assembles chunk/document inputs). */
export function taskInput(job: Job, key: TaskKey, secrets: TaskSecrets = {}): unknown {
  const t = job.tasks[key]!;
  if (job.kind === "dag") return t.input;
  const range = job.chunks.find((c) => c.index === t.index);
  if (t.stage === "extract" && job.object && range) {
    const reading = {
      ...(job.reading?.engine && { engine: job.reading.engine }),
      ...(secrets.password !== undefined && { password: secrets.password }),
    };
    return {
      object: job.object,
      range,
      pageCount: job.pageCount,
      ...(Object.keys(reading).length > 0 && { reading }),
    } satisfies ExtractInput;
  }
  if (t.stage === "merge")
    return { chunks: job.chunks.length, pageCount: job.pageCount } satisfies MergeInput;
  if (t.inputMode === "chunk") return { range };
  return {};
}

export type GraphCheck = { ok: true } | { ok: false; message: string };

/** Duplicate keys, unknown or self dependencies, and cycles (Kahn's algorithm) are rejected. */
export function checkGraph(specs: Array<Pick<TaskSpec, "key" | "deps" | "stage">>): GraphCheck {
  const keys = new Set<string>();
  for (const s of specs) {
    if (keys.has(s.key)) return { ok: false, message: `task '${s.key}' appears twice` };
    // Results come back on `<stage>.<index>`; a key naming another stage would never be matched.
    const [prefix] = s.key.split(".");
    if (prefix !== s.stage) {
      return {
        ok: false,
        message: `task '${s.key}' runs stage '${s.stage}': its key must be '${s.stage}.<index>'`,
      };
    }
    keys.add(s.key);
  }
  const indegree = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const s of specs) {
    indegree.set(s.key, s.deps.length);
    for (const d of s.deps) {
      if (!keys.has(d)) return { ok: false, message: `task '${s.key}' depends on unknown task '${d}'` };
      if (d === s.key) return { ok: false, message: `task '${s.key}' depends on itself` };
      dependents.set(d, [...(dependents.get(d) ?? []), s.key]);
    }
  }
  const queue = specs.filter((s) => s.deps.length === 0).map((s) => s.key);
  let seen = 0;
  while (queue.length > 0) {
    const k = queue.pop()!;
    seen++;
    for (const next of dependents.get(k) ?? []) {
      const n = indegree.get(next)! - 1;
      indegree.set(next, n);
      if (n === 0) queue.push(next);
    }
  }
  if (seen < specs.length) {
    const cyclic = [...indegree].filter(([, n]) => n > 0).map(([k]) => k);
    return { ok: false, message: `the tasks form a cycle through: ${cyclic.slice(0, 10).join(", ")}` };
  }
  return { ok: true };
}

/**
 * Tasks released by `key` being done: pending or released tasks that depend on it and whose
 * dependencies are now all done. Deterministic, so a redelivered result releases (and republishes,
 * deduplicated) the same tasks.
 */
export function releasedBy(job: Job, key: TaskKey): TaskKey[] {
  const out: TaskKey[] = [];
  for (const [k, t] of Object.entries(job.tasks)) {
    if ((t.state === "pending" || t.state === "released") && t.deps.includes(key)) {
      if (t.deps.every((d) => job.tasks[d]?.state === "done")) out.push(k);
    }
  }
  return out;
}

/** Tasks nothing depends on: their outputs are a DAG job's result. */
export function sinkTasks(job: Job): TaskKey[] {
  const depended = new Set(Object.values(job.tasks).flatMap((t) => t.deps));
  return Object.keys(job.tasks).filter((k) => !depended.has(k));
}

/** Every task that (transitively) depends on `key`. */
export function dependentsOf(job: Job, key: TaskKey): TaskKey[] {
  const out = new Set<TaskKey>();
  const frontier = [key];
  while (frontier.length > 0) {
    const k = frontier.pop()!;
    for (const [other, t] of Object.entries(job.tasks)) {
      if (!out.has(other) && t.deps.includes(k)) {
        out.add(other);
        frontier.push(other);
      }
    }
  }
  return [...out];
}

export function isComplete(job: Job): boolean {
  return Object.values(job.tasks).every((t) => t.state === "done");
}

/** The task message for one task of a job; its id is deterministic, so publishing it twice is harmless. */
export function taskEnvelope(job: Job, key: TaskKey, secrets: TaskSecrets = {}): Task {
  const t = job.tasks[key]!;
  const withDeps = t.inputMode === "chunk" || t.inputMode === "deps";
  return {
    v: 1,
    taskId: taskId(job.docId, job.runId, t.stage, t.index),
    docId: job.docId,
    runId: job.runId,
    stage: t.stage,
    priority: job.priority,
    index: t.index,
    key,
    mode: t.mode,
    inputMode: t.inputMode,
    deps: withDeps
      ? t.deps.map((d) => ({
          key: d,
          taskId: taskId(job.docId, job.runId, job.tasks[d]!.stage, job.tasks[d]!.index),
        }))
      : [],
    input: taskInput(job, key, secrets),
    createdAt: Date.now(),
  };
}
