// Publishing raw tasks for test stages, and collecting what the probe stage reports.
import { jetstream } from "@nats-io/jetstream";
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

export async function publishTask(
  nc: NatsConnection,
  stage: string,
  docId: string,
  input: unknown,
  options: { index?: number; priority?: Priority; runId?: string } = {},
): Promise<TaskInput> {
  const runId = options.runId ?? "r1";
  const index = options.index ?? 0;
  const task: TaskInput = {
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
  await jetstream(nc).publish(subjects.task(stage, task.priority), jsonBytes(task), { msgID: task.taskId });
  return task;
}
