// The span of one task run on an agent: it continues the trace carried by the task message's
// traceparent header, so a document's split, extract chunks and merge share one trace across
// threads and processes. Stage code adds the document and page range once it has decoded the task.
import { threadId } from "node:worker_threads";
import {
  annotateSpan,
  extractTraceContext,
  markSpanFailed,
  SpanKind,
  withSpan,
} from "../observability/thread.ts";
import type { ErrorInfo, Task } from "../schemas/index.ts";
import type { TaskDelivery } from "./delivery.ts";

export function runInTaskSpan(d: TaskDelivery, agentId: string, fn: () => Promise<void>): Promise<void> {
  const parent = extractTraceContext(d.headers);
  return withSpan(`docswarm.${d.source.stage}`, { kind: SpanKind.CONSUMER, parent }, (span) => {
    if (span.isRecording()) {
      span.setAttributes({
        "messaging.system": "nats",
        "messaging.destination.name": d.subject,
        "docswarm.stage": d.source.stage,
        "docswarm.priority": d.source.priority,
        "docswarm.agent.id": agentId,
        "docswarm.delivery": d.info.delivered,
        "docswarm.stream.seq": d.info.streamSeq,
        "thread.id": threadId,
      });
    }
    return fn();
  });
}

/** Document, task and (for chunk tasks) page range of the running task, on its span. */
export function annotateTask(task: Task): void {
  const range = (task.input as { range?: { firstPage?: unknown; lastPage?: unknown } } | undefined)?.range;
  annotateSpan({
    "docswarm.doc.id": task.docId,
    "docswarm.task.id": task.taskId,
    "docswarm.chunk.index": task.index,
    ...(typeof range?.firstPage === "number" && { "docswarm.page.first": range.firstPage }),
    ...(typeof range?.lastPage === "number" && { "docswarm.page.last": range.lastPage }),
  });
}

export function markTaskFailed(error: ErrorInfo): void {
  markSpanFailed(error.code, error.message);
}
