// Reading what a job's tasks produced from the results stream: one task's result by direct get, or
// every result of one run of a document in one batched read. Agents assemble stage inputs from
// these, and the coordinator a DAG job's outputs.
import type { JetStreamManager } from "@nats-io/jetstream";
import { decodeJson, type ObjectRef, type TaskKey, TaskResult } from "../schemas/index.ts";
import { readSubject, STREAMS, subjects } from "../streams/index.ts";

const decoder = new TextDecoder();

/** The latest ok result of each task of this run of a document, by task key. */
export async function readRunResults(
  jsm: JetStreamManager,
  docId: string,
  runId: string,
): Promise<Map<TaskKey, TaskResult>> {
  const out = new Map<TaskKey, TaskResult>();
  for (const m of await readSubject(jsm, STREAMS.results, subjects.results(docId))) {
    const r = decodeJson(TaskResult, m.data);
    if (r.ok && r.value.runId === runId && r.value.status === "ok")
      out.set(`${r.value.stage}.${r.value.index}`, r.value);
  }
  return out;
}

/** The ok result of task `taskId` (key `key` of its document), or undefined when there is none. */
export async function readTaskResult(
  jsm: JetStreamManager,
  docId: string,
  key: TaskKey,
  taskId: string,
): Promise<TaskResult | undefined> {
  const m = await jsm.streams
    .getMessage(STREAMS.results, { last_by_subj: subjects.result(docId, key) })
    .catch(() => null);
  const r = m ? decodeJson(TaskResult, m.data) : undefined;
  return r?.ok && r.value.taskId === taskId && r.value.status === "ok" ? r.value : undefined;
}

/**
 * A result's output, read from the object store when it was too large for the message; undefined
 * when that object is gone.
 */
export async function resultOutput(
  r: TaskResult,
  read: (ref: ObjectRef) => Promise<Uint8Array | null>,
): Promise<unknown> {
  if (!r.outputObject) return r.output;
  const data = await read(r.outputObject);
  return data ? JSON.parse(decoder.decode(data)) : undefined;
}
