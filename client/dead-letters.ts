// Reading and requeueing dead letters (DOCSWARM_DLQ, subjects docswarm.dlq.<stage>).
//
// Requeue puts the work back where it can succeed:
//  - a submission (split) is published again to its subject with Docswarm-Reprocess: true;
//  - a task of a document the pipeline knows (a job of the same run, bytes still stored: dead-lettered
//    documents keep theirs) resubmits the whole document from its stored bytes with reprocess, since
//    the document's other partial results were released when it failed;
//  - any other task (a stage you publish tasks to directly) is published again as it was.
// The entry then leaves the DLQ. Requeueing the same entry twice within the dedup window is a no-op.
import { DeliverPolicy, type JetStreamClient, type StoredMsg } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { headers } from "@nats-io/transport-node";
import {
  type DeadLetter,
  DLQ_HEADERS,
  decodeJson,
  ERROR_CODES,
  type ErrorCode,
  HEADERS,
  Job,
  StageName,
  Task,
} from "../schemas/index.ts";
import { BUCKETS, readObject, STREAMS, subjects, uploadDocument } from "../streams/index.ts";
import { ClientError } from "./errors.ts";

/** Chunks of a requeued document's upload. */
const UPLOAD_CHUNK_BYTES = 32 * 1024;

type Stored = Pick<StoredMsg, "seq" | "subject" | "data" | "time"> & {
  header: StoredMsg["header"] | undefined;
};

/** A DLQ message read through the headers the coordinator writes on it (DLQ_HEADERS). */
export function deadLetterOf(m: Stored): DeadLetter {
  const h = (k: string) => m.header?.get(k) ?? "";
  const code = h(DLQ_HEADERS.code);
  const stage = m.subject.slice(subjects.dlq("").length);
  return {
    seq: m.seq,
    stage: StageName.safeParse(stage).success ? stage : "unknown",
    docId: h(DLQ_HEADERS.docId) || null,
    taskId: h(DLQ_HEADERS.taskId) || null,
    stream: h(DLQ_HEADERS.stream),
    streamSeq: Number(h(DLQ_HEADERS.seq)) || 0,
    subject: h(DLQ_HEADERS.subject),
    deliveries: Number(h(DLQ_HEADERS.deliveries)) || 0,
    code: (ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : "INTERNAL",
    reason: h(DLQ_HEADERS.reason),
    deadAt: Number(h(DLQ_HEADERS.at)) || m.time.getTime(),
    bytes: m.data.length,
  };
}

/** Dead letters in the order they arrived (optionally of one stage), at most `limit`. */
export async function listDeadLetters(
  js: JetStreamClient,
  options: { stage?: string; limit?: number } = {},
): Promise<DeadLetter[]> {
  const jsm = await js.jetstreamManager();
  const info = await jsm.streams.info(STREAMS.dlq);
  if (info.state.messages === 0) return [];
  const consumer = await js.consumers.get(STREAMS.dlq, {
    filter_subjects: [options.stage ? subjects.dlq(options.stage) : subjects.dlqAll],
    deliver_policy: DeliverPolicy.All,
  });
  const out: DeadLetter[] = [];
  const limit = options.limit ?? 1000;
  try {
    while (out.length < limit) {
      const m = await consumer.next({ expires: 1000 });
      if (!m) break;
      out.push(
        deadLetterOf({ seq: m.seq, subject: m.subject, data: m.data, time: m.time, header: m.headers }),
      );
      if (m.info.pending === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => {});
  }
  return out;
}

export type Requeued = {
  seq: number;
  /** What was published: the submission again, the document resubmitted, or the task again. */
  action: "resubmitted-submission" | "resubmitted-document" | "republished-task";
  docId: string | null;
  subject: string;
};

export async function requeueDeadLetter(js: JetStreamClient, seq: number): Promise<Requeued> {
  const jsm = await js.jetstreamManager();
  const sm = await jsm.streams.getMessage(STREAMS.dlq, { seq });
  if (!sm) throw new ClientError("NOT_FOUND", `no dead letter with sequence ${seq} in ${STREAMS.dlq}`);
  const dl = deadLetterOf({
    seq: sm.seq,
    subject: sm.subject,
    data: sm.data,
    time: sm.time,
    header: sm.header,
  });
  const msgID = `requeue.${seq}`;
  let out: Requeued;
  if (dl.stream === STREAMS.submit) {
    const h = headers();
    for (const [k, vs] of sm.header ?? []) {
      if (k.startsWith("Docswarm-Dlq-") || /^nats-/i.test(k)) continue;
      for (const v of vs) h.append(k, v);
    }
    h.set(HEADERS.reprocess, "true");
    await js.publish(dl.subject, sm.data, { headers: h, msgID });
    out = { seq, action: "resubmitted-submission", docId: dl.docId, subject: dl.subject };
  } else {
    const task = decodeJson(Task, sm.data);
    const job = task.ok ? await readJob(js, task.value.docId) : undefined;
    const kept =
      job?.object && task.ok && job.runId === task.value.runId
        ? await readObject(js, job.object.bucket, job.object.name).catch(() => null)
        : null;
    if (job?.object && kept) {
      // The kept bytes go as an upload, as a submitter's would: the new run stores its own copy
      // (docswarm never works from, or deletes, an object a submission names), so the kept object
      // is removed once the submission is in. Small chunks: any server's max payload takes them.
      const upload = await uploadDocument(js, kept, UPLOAD_CHUNK_BYTES + 4096);
      const h = headers();
      h.set(HEADERS.docId, job.docId);
      h.set(HEADERS.upload, upload.id);
      h.set(HEADERS.uploadSize, String(upload.size));
      h.set(HEADERS.uploadDigest, upload.digest);
      h.set(HEADERS.priority, job.priority);
      h.set(HEADERS.reprocess, "true");
      if (job.source) h.set(HEADERS.source, job.source);
      const subject = subjects.submitAt(job.priority);
      await js.publish(subject, new Uint8Array(), { headers: h, msgID });
      await (await new Objm(js).open(job.object.bucket)).delete(job.object.name).catch(() => {});
      out = { seq, action: "resubmitted-document", docId: job.docId, subject };
    } else if (task.ok && job) {
      throw new ClientError(
        "OBJECT_MISSING",
        `cannot requeue ${task.value.taskId}: the bytes of document ${job.docId} are no longer stored`,
      );
    } else {
      const h = headers();
      for (const [k, vs] of sm.header ?? []) {
        if (k.startsWith("Docswarm-Dlq-") || /^nats-/i.test(k)) continue;
        for (const v of vs) h.append(k, v);
      }
      await js.publish(dl.subject, sm.data, { headers: h, msgID: `${dl.taskId ?? dl.subject}.${msgID}` });
      out = { seq, action: "republished-task", docId: dl.docId, subject: dl.subject };
    }
  }
  await jsm.streams.deleteMessage(STREAMS.dlq, seq, false).catch(() => {});
  return out;
}

async function readJob(js: JetStreamClient, docId: string): Promise<Job | undefined> {
  const kv = await new Kvm(js).open(BUCKETS.jobs);
  const e = await kv.get(docId).catch(() => null);
  if (e?.operation !== "PUT" || e.value.length === 0) return undefined;
  const j = decodeJson(Job, e.value);
  return j.ok ? j.value : undefined;
}
