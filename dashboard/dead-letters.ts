// The most recent dead letters, described without their payloads' document text: stage, task, the
// coordinator's code and reason (its DLQ headers, read as the client reads them), and when.
import type { JetStreamManager } from "@nats-io/jetstream";
import { deadLetterOf } from "../client/index.ts";
import { decodeJson, type ErrorCode, Task } from "../schemas/index.ts";
import { STREAMS } from "../streams/index.ts";

export type DeadLetter = {
  seq: number;
  subject: string;
  stage: string;
  at: number;
  docId: string | null;
  taskId: string | null;
  code: ErrorCode;
  /** Why it was dead-lettered (the Docswarm-Dlq-Reason header), null when the writer gave none. */
  reason: string | null;
};

export async function readRecentDeadLetters(jsm: JetStreamManager, n: number): Promise<DeadLetter[]> {
  const info = await jsm.streams.info(STREAMS.dlq);
  const last = info.state.last_seq;
  if (info.state.messages === 0) return [];
  const out: DeadLetter[] = [];
  const iter = await jsm.direct.getBatch(STREAMS.dlq, { seq: Math.max(1, last - n + 1), batch: n });
  for await (const m of iter) {
    const dead = deadLetterOf(m);
    // A task envelope names its task even when the writer of the entry did not.
    const task = decodeJson(Task, m.data);
    out.push({
      seq: m.seq,
      subject: m.subject,
      stage: dead.stage,
      at: dead.deadAt,
      docId: dead.docId ?? (task.ok ? task.value.docId : null),
      taskId: dead.taskId ?? (task.ok ? task.value.taskId : null),
      code: dead.code,
      reason: dead.reason || null,
    });
  }
  return out.reverse();
}
