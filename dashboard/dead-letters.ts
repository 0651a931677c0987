// The most recent dead letters, described without their payloads' document text: subject, stage,
// when, and the task's identity when the message is a task envelope.
import type { JetStreamManager } from "@nats-io/jetstream";
import { decodeJson, Task } from "../schemas/index.ts";
import { STREAMS, subjects } from "../streams/index.ts";

export type DeadLetter = {
  seq: number;
  subject: string;
  stage: string;
  at: number;
  docId: string | null;
  taskId: string | null;
  /** A reason header when the writer set one (Docswarm-Error, Nats-Msg-Id of the task). */
  reason: string | null;
};

export async function readRecentDeadLetters(jsm: JetStreamManager, n: number): Promise<DeadLetter[]> {
  const info = await jsm.streams.info(STREAMS.dlq);
  const last = info.state.last_seq;
  if (info.state.messages === 0) return [];
  const out: DeadLetter[] = [];
  const iter = await jsm.direct.getBatch(STREAMS.dlq, { seq: Math.max(1, last - n + 1), batch: n });
  for await (const m of iter) {
    const task = decodeJson(Task, m.data);
    const h = m.header;
    out.push({
      seq: m.seq,
      subject: m.subject,
      stage: m.subject.slice(subjects.dlq("").length),
      at: m.time.getTime(),
      docId: task.ok ? task.value.docId : (h?.get("Docswarm-Doc-Id") ?? null),
      taskId: task.ok ? task.value.taskId : (h?.get("Nats-Msg-Id") ?? null),
      reason: h?.get("Docswarm-Error") || h?.get("Docswarm-Reason") || null,
    });
  }
  return out.reverse();
}
