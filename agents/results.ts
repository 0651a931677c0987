// Publishing a task's result: the "ack event" the coordinator counts. Published with the task id as
// Nats-Msg-Id *before* the task is acked, so a crash in between yields a redelivery whose result
// the stream drops as a duplicate.

import { withTraceHeaders } from "../observability/thread.ts";
import type { ErrorInfo, TaskResult } from "../schemas/index.ts";
import { jsonBytes, OBJECT_STORES, PAYLOAD_HEADROOM_BYTES, subjects } from "../streams/index.ts";
import type { AgentServices } from "./services.ts";

export type TaskIdentity = Pick<TaskResult, "taskId" | "docId" | "runId" | "stage" | "index">;

export async function publishResult(
  s: AgentServices,
  task: TaskIdentity,
  delivery: number,
  startedAt: number,
  outcome: { status: "ok"; output: unknown } | { status: "failed"; error: ErrorInfo; output?: unknown },
): Promise<void> {
  const result: TaskResult = {
    v: 1,
    ...task,
    status: outcome.status,
    agentId: s.agentId,
    delivery,
    startedAt,
    finishedAt: Date.now(),
    ...(outcome.output !== undefined && { output: outcome.output }),
    ...(outcome.status === "failed" && { error: outcome.error }),
  };
  let body = jsonBytes(result);
  if (body.length > s.maxPayloadBytes - PAYLOAD_HEADROOM_BYTES) {
    // Large outputs (a chunk of very dense pages) travel through the object store.
    const name = `out/${task.taskId}`;
    const info = await s.state.results.putBlob({ name }, jsonBytes(result.output));
    const { output: _dropped, ...rest } = result;
    body = jsonBytes({ ...rest, outputObject: { bucket: OBJECT_STORES.results, name, size: info.size } });
  }
  // The traceparent of the task's span, so the coordinator's gather continues the trace.
  const headers = withTraceHeaders();
  await s.publisher.publish(subjects.result(task.docId, `${task.stage}.${task.index}`), body, {
    msgID: task.taskId,
    ...(headers && { headers }),
  });
}
