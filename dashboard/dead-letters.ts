// The dashboard's list of recent dead letters, built from the coordinator's `task.deadlettered`
// events (stage, document, task, code, reason, DLQ sequence), never from the DLQ's entries: those are
// copies of submissions and tasks (document bytes, their headers), which the observer may not read
// (streams/permissions.ts). Which entries are still in the DLQ the stream's info tells without any
// content (its first sequence and deleted sequences), so a requeued or expired entry leaves the list.
// An entry whose event was lost (events are core NATS notifications) or has aged out of the events
// stream is counted, not listed; `docswarm dlq list` (admin) reads the entries themselves.
import type { JetStreamManager } from "@nats-io/jetstream";
import { readEventsSince } from "../observability/index.ts";
import type { ErrorCode, SwarmEvent } from "../schemas/index.ts";
import { STREAMS, subjects } from "../streams/index.ts";

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

type DeadLetterEvent = Extract<SwarmEvent, { type: "task.deadlettered" }>;

const DEAD_LETTER_EVENTS = subjects.event("task.deadlettered", ">");

export function deadLetterOfEvent(e: DeadLetterEvent): DeadLetter {
  return {
    seq: e.dlqSeq,
    subject: subjects.dlq(e.stage),
    stage: e.stage,
    at: e.at,
    docId: e.docId,
    taskId: e.taskId,
    code: e.error.code,
    reason: e.reason ?? (e.error.message || null),
  };
}

/** What the DLQ holds, by sequence: everything from `first` to `last` except `deleted`. */
export type DlqContents = { first: number; last: number; deleted: ReadonlySet<number> };

export async function readDlqContents(jsm: JetStreamManager): Promise<DlqContents> {
  const { state } = await jsm.streams.info(STREAMS.dlq, { deleted_details: true });
  return { first: state.first_seq, last: state.last_seq, deleted: new Set(state.deleted ?? []) };
}

/**
 * Whether the entry is still in the DLQ. One newer than the contents (its event arrived after the
 * stream info was read) counts as present until the next read says otherwise.
 */
export function inDlq(d: DeadLetter, c: DlqContents): boolean {
  if (d.seq > c.last) return true;
  return d.seq >= c.first && !c.deleted.has(d.seq);
}

/** The recent list: newest first, one per DLQ sequence, at most `n`, only entries still queued. */
export function recentDeadLetters(all: Iterable<DeadLetter>, contents: DlqContents, n: number): DeadLetter[] {
  const bySeq = new Map<number, DeadLetter>();
  for (const d of all) if (inDlq(d, contents)) bySeq.set(d.seq, d);
  return [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, n);
}

/** The dead letters the events stream remembers (it keeps them for its max age, 1 h by default). */
export async function readDeadLetterEvents(jsm: JetStreamManager): Promise<DeadLetter[]> {
  const events = await readEventsSince(jsm, new Date(0), DEAD_LETTER_EVENTS);
  return events.flatMap((e) => (e.type === "task.deadlettered" ? [deadLetterOfEvent(e)] : []));
}

/** The `n` most recent dead letters still in the DLQ, newest first, read as the observer may. */
export async function readRecentDeadLetters(jsm: JetStreamManager, n: number): Promise<DeadLetter[]> {
  const [events, contents] = await Promise.all([readDeadLetterEvents(jsm), readDlqContents(jsm)]);
  return recentDeadLetters(events, contents, n);
}
