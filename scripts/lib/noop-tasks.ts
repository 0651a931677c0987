// Queues no-op tasks (the `noop` stage, normal priority) as fast as JetStream confirms them, for the
// load script and test: the coordination machinery alone, no documents.
import type { JetStreamClient } from "@nats-io/jetstream";
import type { TaskInput } from "../../schemas/index.ts";
import { jsonBytes, subjects } from "../../streams/index.ts";

/** Publishes `count` tasks spread over `docs` document ids, at most `window` unconfirmed at once. */
export async function queueNoopTasks(
  js: JetStreamClient,
  count: number,
  options: { docs: number; window: number },
): Promise<void> {
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const docId = `load-${i % options.docs}`;
    const task: TaskInput = {
      v: 1,
      taskId: `${docId}.r1.noop.${i}`,
      docId,
      runId: "r1",
      stage: "noop",
      priority: "normal",
      index: i,
      input: {},
      createdAt: Date.now(),
    };
    inflight.push(js.publish(subjects.task("noop", "normal"), jsonBytes(task), { msgID: task.taskId }));
    if (inflight.length >= options.window) await Promise.all(inflight.splice(0));
  }
  await Promise.all(inflight);
}
