// Raw tasks published straight onto a stage's subject (no coordinator involved): test stages, the
// probe stage's reports, and the no-op load of the load drill and its test.
import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Priority, TaskInput } from "../../schemas/index.ts";
import { jsonBytes, subjects, taskId } from "../../streams/index.ts";

export const PROBE_STAGE = new URL("../fixtures/stages/probe.ts", import.meta.url).pathname;

export type ProbeRun = {
  event: "start" | "end";
  taskId: string;
  agentId: string;
  delivery: number;
  at: number;
};

/** Collects probe reports (test.runs) on `nc` until it closes. */
export function collectRuns(nc: NatsConnection): ProbeRun[] {
  const runs: ProbeRun[] = [];
  nc.subscribe("test.runs", {
    callback: (_e, m) => {
      runs.push(m.json<ProbeRun>());
    },
  });
  return runs;
}

export type RawTaskOptions = { index?: number; priority?: Priority; runId?: string };

/** A task envelope as the coordinator would write it (run "r1", index 0, normal priority by default). */
export function rawTask(
  stage: string,
  docId: string,
  input: unknown,
  options: RawTaskOptions = {},
): TaskInput {
  const runId = options.runId ?? "r1";
  const index = options.index ?? 0;
  return {
    v: 1,
    taskId: taskId(docId, runId, stage, index),
    docId,
    runId,
    stage,
    priority: options.priority ?? "normal",
    index,
    input,
    createdAt: Date.now(),
  };
}

function publishRaw(js: JetStreamClient, task: TaskInput) {
  return js.publish(subjects.task(task.stage, task.priority), jsonBytes(task), { msgID: task.taskId });
}

export async function publishTask(
  nc: NatsConnection,
  stage: string,
  docId: string,
  input: unknown,
  options: RawTaskOptions = {},
): Promise<TaskInput> {
  const task = rawTask(stage, docId, input, options);
  await publishRaw(jetstream(nc), task);
  return task;
}

/**
 * Queues `count` no-op tasks (the `noop` stage, normal priority) spread over `docs` document ids, at
 * most `window` unconfirmed at once: the coordination machinery alone, no documents.
 */
export async function queueNoopTasks(
  js: JetStreamClient,
  count: number,
  options: { docs: number; window: number },
): Promise<void> {
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    inflight.push(publishRaw(js, rawTask("noop", `load-${i % options.docs}`, {}, { index: i })));
    if (inflight.length >= options.window) await Promise.all(inflight.splice(0));
  }
  await Promise.all(inflight);
}
