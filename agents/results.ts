// Publishing a task's result: the "ack event" the coordinator counts. Published with the task id as
// Nats-Msg-Id *before* the task is acked, so a crash in between yields a redelivery whose result
// the stream drops as a duplicate.

import type { NatsConnection } from "@nats-io/transport-node";
import { withTraceHeaders } from "../observability/thread.ts";
import type { ErrorInfo, TaskResult } from "../schemas/index.ts";
import {
  ApiCodes,
  isApiError,
  jsonBytes,
  OBJECT_STORES,
  PAYLOAD_HEADROOM_BYTES,
  subjects,
} from "../streams/index.ts";
import type { AgentServices } from "./services.ts";

export type TaskIdentity = Pick<TaskResult, "taskId" | "docId" | "runId" | "stage" | "index">;

/** Connections whose results stream refused a per-message TTL (a layout before allow_msg_ttl). */
const ttlRefused = new WeakSet<NatsConnection>();

/**
 * `ttlMs`: the result expires by itself that long after it is stored (a document that ended in
 * this task: nobody purges its results). `finishedAt`: when the work ended, if before now (split's
 * pages of a document that yielded, published after its job is recorded). On a results stream without per-message TTLs (a layout
 * `docswarm init` has not migrated yet) it goes without one, and the coordinator deletes it.
 */
export async function publishResult(
  s: AgentServices,
  task: TaskIdentity,
  delivery: number,
  startedAt: number,
  outcome: { status: "ok"; output: unknown } | { status: "failed"; error: ErrorInfo; output?: unknown },
  options: { ttlMs?: number; finishedAt?: number } = {},
): Promise<void> {
  const result: TaskResult = {
    v: 1,
    ...task,
    status: outcome.status,
    agentId: s.agentId,
    delivery,
    startedAt,
    finishedAt: options.finishedAt ?? Date.now(),
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
  const subject = subjects.result(task.docId, `${task.stage}.${task.index}`);
  const ttl =
    options.ttlMs !== undefined && !ttlRefused.has(s.nc)
      ? `${Math.max(1000, Math.ceil(options.ttlMs))}ms`
      : undefined;
  // Fresh headers per attempt: the publisher writes the message id (and TTL) into them.
  const send = (withTtl: string | undefined) => {
    const headers = withTraceHeaders();
    return s.publisher.publish(subject, body, {
      msgID: task.taskId,
      ...(headers && { headers }),
      ...(withTtl && { ttl: withTtl }),
    });
  };
  try {
    await send(ttl);
  } catch (err) {
    if (!ttl || !isApiError(err, ApiCodes.MessageTtlDisabled)) throw err;
    ttlRefused.add(s.nc);
    await send(undefined);
  }
}
