// One readable line per swarm event, for `docswarm watch` and logs.
import type { SwarmEvent } from "../schemas/index.ts";

function pct(done: number, total: number): string {
  return total > 0 ? `${Math.floor((done / total) * 100)}%` : "-";
}

export function describeEvent(e: SwarmEvent): string {
  switch (e.type) {
    case "doc.accepted":
      return `${e.docId}  accepted: ${e.pageCount} pages in ${e.chunks} chunks, ${e.priority} priority`;
    case "doc.progress":
      return `${e.docId}  ${e.stage} ${e.done}/${e.total} chunks, ${e.pagesDone}/${e.pageCount} pages (${pct(e.pagesDone, e.pageCount)})`;
    case "doc.done":
      return `${e.docId}  done: ${e.pageCount} pages in ${(e.totalMs / 1000).toFixed(2)} s`;
    case "doc.failed":
      return `${e.docId}  FAILED ${e.error?.code ?? "INTERNAL"}: ${e.error?.message ?? ""}`;
    case "agent.joined":
    case "agent.drained":
    case "agent.lost":
      return `${e.agentId}  ${e.type.slice(6)} (host ${e.hostId}; ${e.stages.join(", ")})`;
    case "scale.changed":
      return `${e.stage}  ${e.previous} -> ${e.agents} agents (${e.reason})`;
    case "task.failed":
      return `${e.taskId}  ${e.stage} failed on delivery ${e.delivery} at ${e.agentId}: ${e.error.code}: ${e.error.message}`;
    case "stage.waiting":
      return `${e.docId}  waiting: ${e.tasks} ${e.stage} task(s) and no live agent serves ${e.stage}`;
    case "scale.decided":
      return `${e.stage}  desired agents ${e.from} -> ${e.to} (${e.reason})`;
    case "agent.spawned":
    case "agent.terminated":
      return `${e.agentId}  ${e.type.slice(6)} by host ${e.hostId} (${e.reason})`;
    case "coordinator.elected":
    case "coordinator.deposed":
      return `${e.coordinatorId}  ${e.type.slice(12)} (term ${e.term})${e.reason ? `: ${e.reason}` : ""}`;
    case "storage.high":
    case "storage.ok":
      return `${e.name}  ${e.type === "storage.high" ? "HIGH" : "back below"} ${Math.round(e.used * 100)} % of its ${e.limitedBy === "bytes" ? `${e.maxBytes} bytes` : `${e.maxMsgs} messages`} (warns at ${Math.round(e.warnRatio * 100)} %)`;
    case "task.deadlettered":
      return `${e.taskId ?? e.docId}  dead-lettered (${e.stage}, ${e.deliveries} deliveries, dlq seq ${e.dlqSeq}): ${e.error.code}`;
  }
}

/** `12:00:01.234  doc.progress   <description>` (local time). */
export function formatEventLine(e: SwarmEvent): string {
  const d = new Date(e.at);
  const time = `${d.toTimeString().slice(0, 8)}.${String(d.getMilliseconds()).padStart(3, "0")}`;
  return `${time}  ${e.type.padEnd(13)}  ${describeEvent(e)}`;
}

/** The subject key of an event: one rule for every publisher, in streams/. */
export { eventKey } from "../streams/index.ts";
