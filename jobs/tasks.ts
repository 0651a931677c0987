// Publishing a job's released tasks: split publishes the tasks a job starts with, the coordinator
// the tasks each result releases. Task ids are deterministic message ids, so publishing a task
// again (a redelivered submission or result) is dropped by the stream.
import type { MsgHdrs } from "@nats-io/transport-node";
import type { Job, TaskKey } from "../schemas/index.ts";
import { type JetStreamPublisher, jsonBytes, subjects } from "../streams/index.ts";
import { type TaskSecrets, taskEnvelope } from "./graph.ts";

/** Tasks of `job` in the released state. */
export function releasedTasks(job: Job): TaskKey[] {
  return Object.keys(job.tasks).filter((k) => job.tasks[k]!.state === "released");
}

/**
 * Publishes the tasks `keys` of `job`; `headers()` gives each its headers (the trace context of the
 * span that released it); `secrets` go into the extract tasks' input only (split passes the password).
 */
export async function publishTasks(
  publisher: JetStreamPublisher,
  job: Job,
  keys: readonly TaskKey[],
  headers: () => MsgHdrs | undefined = () => undefined,
  secrets: TaskSecrets = {},
): Promise<void> {
  await Promise.all(
    keys.map((key) => {
      const task = taskEnvelope(job, key, secrets);
      const h = headers();
      return publisher.publish(subjects.task(task.stage, job.priority), jsonBytes(task), {
        msgID: task.taskId,
        ...(h && { headers: h }),
      });
    }),
  );
}
