// The final-result protocol: the one stored final result of a document (or DAG job) on
// docswarm.done.<id>, written at most once and only by the run that owns the document (jobs/end.ts
// is its only writer; a reprocess marks its takeover here), and read back here.
import type { JetStreamClient, JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import { headers as newHeaders, nuid } from "@nats-io/transport-node";
import { decodeJson, FinalResult, HEADERS, Job, JobResult, ObjectRef } from "../schemas/index.ts";
import {
  BUCKETS,
  isNoMessage,
  isTransient,
  isWrongLastSequence,
  type JetStreamPublisher,
  jsonBytes,
  kvStream,
  NoStreamError,
  OBJECT_STORES,
  objectStores,
  PAYLOAD_HEADROOM_BYTES,
  putObject,
  readObject,
  retryJetStream,
  STREAMS,
  subjects,
} from "../streams/index.ts";
import { FinalResultInvalidError } from "./errors.ts";

export type PublishFinalOutcome = { outcome: "published" | "exists"; inline: boolean };

/** What a final result may take: messages up to the server's max payload, results up to the cap. */
export type FinalLimits = { maxPayloadBytes: number; maxResultBytes: number };

/** The failed final stored instead of a result above the per-result cap. */
function tooLarge(final: FinalResult | JobResult, bytes: number, maxResultBytes: number) {
  const id = final.kind === "job" ? final.jobId : final.docId;
  const error = {
    code: "RESULT_TOO_LARGE" as const,
    message: `the final result of ${id} is ${bytes} bytes, above the per-result cap of ${maxResultBytes} (topology doneMaxResultBytes)`,
    retryable: false,
  };
  if (final.kind === "job") return { ...final, status: "failed", outputs: {}, error } satisfies JobResult;
  const { stages: _stages, ...rest } = final;
  return { ...rest, status: "failed", pages: [], error } satisfies FinalResult;
}

/**
 * The last message on `subject` (wildcards allowed) in `stream`, read from its leader, waiting out
 * a leader election; null when there is none.
 */
function lastOn(jsm: JetStreamManager, stream: string, subject: string): Promise<StoredMsg | null> {
  return retryJetStream(() => jsm.streams.getMessage(stream, { last_by_subj: subject })).catch(
    (err: unknown) => {
      if (isNoMessage(err)) return null;
      throw err;
    },
  );
}

/**
 * One publish of a final result expecting `expected` as the document's last sequence in the done
 * stream. With `publisher` (agents: the raw exchange results go through, without nats.js's request
 * machinery) first; a publish no stream received (no responders during an election) goes again
 * once through js.publish. A leader elected meanwhile stores it; if none answers yet, its error
 * (transient) fails this delivery, and the redelivery publishes again.
 */
async function publishFinal(
  js: JetStreamClient,
  publisher: JetStreamPublisher | undefined,
  id: string,
  body: Uint8Array,
  msgID: string,
  expected: number,
  extra: Record<string, string> | undefined,
): Promise<void> {
  const family = subjects.doneFamily(id);
  // Fresh per attempt: the publishers write the message id and expectations into them.
  const headers = () => {
    if (!extra) return undefined;
    const h = newHeaders();
    for (const [k, v] of Object.entries(extra)) h.set(k, v);
    return h;
  };
  if (publisher) {
    try {
      const h = headers();
      await publisher.publish(subjects.final(id), body, {
        ...(h && { headers: h }),
        msgID,
        expectLastSubjectSequence: expected,
        expectLastSubjectSequenceSubject: family,
      });
      return;
    } catch (err) {
      // Only a publish no stream received goes again here. One that timed out may have been
      // stored: it fails this delivery as js.publish's would, and the redelivery's publish is
      // refused by the expected sequence if it was.
      if (!(err instanceof NoStreamError)) throw err;
    }
  }
  const h = headers();
  await js.publish(subjects.final(id), body, {
    ...(h && { headers: h }),
    msgID,
    expect: { lastSubjectSequence: expected, lastSubjectSequenceSubject: family },
  });
}

/** How often a writer reads again after the done stream refused it for a newer message. */
const ATTEMPTS = 8;

type Newest = { seq: number; final: boolean; runId: string | undefined };

/**
 * The newest message of a document in the done stream, read from the stream leader: its final
 * result (and the run that wrote it) or its reprocess mark (and the run that owns the document).
 */
async function newestOfDocument(jsm: JetStreamManager, id: string): Promise<Newest | null> {
  const m = await lastOn(jsm, STREAMS.done, subjects.doneFamily(id));
  if (!m) return null;
  if (m.subject !== subjects.done(id))
    return { seq: m.seq, final: false, runId: new TextDecoder().decode(m.data) };
  return { seq: m.seq, final: true, runId: runOfFinal(id, m) };
}

/**
 * Publishes a final result at most once per document, and never for a run a reprocess replaced.
 * The first publish expects nothing of the document in the done stream (expected last subject
 * sequence 0 over docswarm.*.<id>), so a document never reprocessed pays nothing beyond it. Only
 * when refused is the stream read: a final result means the document has one ("exists"); a
 * reprocess mark naming this run means this run owns the document, and the publish is repeated
 * expecting the mark to still be the newest; a mark naming another run means that run owns it
 * ("exists" too). A replaced run's writer is refused by the mark from the moment it is written,
 * and a final it stored before is removed by the takeover after its mark (takeOverFinal), so its
 * result never outlives the takeover. Results above the server's max payload go to the results
 * object store under a name of this writer's own (`<id>.<runId>.<nuid>`), and the message carries
 * a reference: a second writer never replaces the stored result's object, and a refused writer
 * removes its own. A result above the per-result cap is not stored anywhere (so one huge result
 * cannot evict many others from the done stream): the document fails RESULT_TOO_LARGE.
 */
export async function publishDone(
  js: JetStreamClient,
  id: string,
  result: FinalResult | JobResult,
  runId: string,
  { maxPayloadBytes, maxResultBytes }: FinalLimits,
  publisher?: JetStreamPublisher,
  extraHeaders?: Record<string, string>,
): Promise<PublishFinalOutcome> {
  let body = jsonBytes(result);
  let final = result;
  if (body.length > maxResultBytes) {
    final = tooLarge(result, body.length, maxResultBytes);
    body = jsonBytes(final);
  }
  const inline = body.length <= maxPayloadBytes - PAYLOAD_HEADROOM_BYTES;
  let object: string | undefined;
  if (!inline) {
    object = `${id}.${runId}.${nuid.next()}`;
    const info = await putObject(js, OBJECT_STORES.results, object, body, maxPayloadBytes);
    const ref = { bucket: OBJECT_STORES.results, name: object, size: info.size };
    body = jsonBytes(
      final.kind === "job"
        ? ({ ...final, outputs: {}, outputsObject: ref } as JobResult)
        : ({ ...final, pages: [], stages: {}, pagesObject: ref } satisfies FinalResult),
    );
  }
  let expected = 0;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      await publishFinal(js, publisher, id, body, `${id}.${runId}.final`, expected, extraHeaders);
      return { outcome: "published", inline };
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
    }
    const newest = await newestOfDocument(await js.jetstreamManager(false), id);
    if (newest && (newest.final || newest.runId !== runId)) break;
    // Nothing newer (a takeover removed a stale final meanwhile), or this run's own mark.
    expected = newest?.seq ?? 0;
  }
  if (object)
    await objectStores(js)
      .open(OBJECT_STORES.results)
      .then((store) => store.delete(object))
      .catch(() => {});
  return { outcome: "exists", inline };
}

/**
 * Which run stored the final result of a document (or DAG job), from its message id
 * (`<id>.<runId>.final`); null when none is stored, undefined when the stored one has no such id.
 */
export async function finalRun(jsm: JetStreamManager, id: string): Promise<string | undefined | null> {
  const stored = await lastOn(jsm, STREAMS.done, subjects.done(id));
  return stored ? runOfFinal(id, stored) : null;
}

/**
 * Which run stored the final result of a document, and whether it carries split's summary header
 * (the coordinator announced the document from it); null when none is stored.
 */
export async function storedFinalOf(
  jsm: JetStreamManager,
  id: string,
): Promise<{ runId: string | undefined; summary: boolean } | null> {
  const stored = await lastOn(jsm, STREAMS.done, subjects.done(id));
  return stored ? { runId: runOfFinal(id, stored), summary: !!stored.header?.get(HEADERS.summary) } : null;
}

/**
 * A reprocess takes the document's final result over once its job is recorded: it marks the
 * document in the done stream with the run its job names now (its own, or a later reprocess's that
 * recorded meanwhile), expecting nothing newer of the document than it read, and then removes the
 * final result of any other run by its sequence. From the mark on, a writer of the replaced run
 * is refused (publishDone), whenever it checked its job. The job is read from the stream leader
 * after the done stream, so the last mark names the last recorded run. Idempotent: a redelivery
 * repeats it, and once the owner's final is stored nothing changes. A done stream of layout 2 has
 * no marks (`docswarm init` adds them); there the old final is only removed, as before.
 */
export async function takeOverFinal(js: JetStreamClient, docId: string, runId: string): Promise<void> {
  const jsm = await js.jetstreamManager(false);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const newest = await newestOfDocument(jsm, docId);
    const owner = (await ownerOf(jsm, docId)) ?? runId;
    if (newest?.runId === owner) break;
    const mark = () =>
      js.publish(subjects.reprocess(docId), new TextEncoder().encode(owner), {
        expect: {
          lastSubjectSequence: newest?.seq ?? 0,
          lastSubjectSequenceSubject: subjects.doneFamily(docId),
        },
      });
    try {
      await mark();
      break;
    } catch (err) {
      if (isWrongLastSequence(err)) continue;
      // No responder: a leader election (wait it out), or a done stream without marks (skip them).
      if (!isTransient(err)) throw err;
      if (!(await marksReprocesses(jsm))) break;
      await retryJetStream(mark).catch((again: unknown) => {
        if (!isWrongLastSequence(again)) throw again;
      });
    }
  }
  const stored = await lastOn(jsm, STREAMS.done, subjects.done(docId));
  const owner = (await ownerOf(jsm, docId)) ?? runId;
  if (stored && runOfFinal(docId, stored) !== owner)
    await jsm.streams.deleteMessage(STREAMS.done, stored.seq, false).catch(() => {});
}

/** The run the document's job names, read from the jobs bucket's stream leader. */
async function ownerOf(jsm: JetStreamManager, docId: string): Promise<string | undefined> {
  const m = await lastOn(jsm, kvStream(BUCKETS.jobs), `$KV.${BUCKETS.jobs}.${docId}`);
  if (!m || m.data.length === 0) return undefined;
  const job = decodeJson(Job, m.data);
  return job.ok ? job.value.runId : undefined;
}

/** Whether the done stream takes reprocess marks (layout 3 and later). */
async function marksReprocesses(jsm: JetStreamManager): Promise<boolean> {
  const info = await retryJetStream(() => jsm.streams.info(STREAMS.done));
  return info.config.subjects.includes(subjects.reprocess("*"));
}

/** The run that wrote a stored final result, from its message id (`<id>.<runId>.final`). */
function runOfFinal(id: string, stored: StoredMsg): string | undefined {
  const msgId = stored.header?.get("Nats-Msg-Id") ?? "";
  const prefix = `${id}.`;
  return msgId.startsWith(prefix) && msgId.endsWith(".final")
    ? msgId.slice(prefix.length, -".final".length)
    : undefined;
}

/** Whether a document (or DAG job) has a stored final result, read from the stream leader. */
export async function hasFinal(jsm: JetStreamManager, id: string): Promise<boolean> {
  const stored = await jsm.streams
    .getMessage(STREAMS.done, { last_by_subj: subjects.done(id) })
    .catch((err: unknown) => {
      if (isNoMessage(err)) return null;
      throw err;
    });
  return stored !== null;
}

/** What a done message is: a document's result or a DAG job's. */
export function doneKind(data: Uint8Array): "document" | "job" {
  try {
    return (JSON.parse(new TextDecoder().decode(data)) as { kind?: string }).kind === "job"
      ? "job"
      : "document";
  } catch {
    return "document";
  }
}

/** Parses a DAG job's result, following outputsObject to the complete outputs. */
export async function decodeJobResult(js: JetStreamClient, data: Uint8Array): Promise<JobResult> {
  const decoded = decodeJson(JobResult.extend({ outputsObject: ObjectRef.optional() }), data);
  if (!decoded.ok) throw new FinalResultInvalidError(`job result: ${decoded.message}`);
  const ref = decoded.value.outputsObject;
  if (!ref) return decoded.value;
  const full = await (await objectStores(js).open(ref.bucket)).getBlob(ref.name);
  const whole = full ? decodeJson(JobResult, full) : undefined;
  if (!whole?.ok)
    throw new FinalResultInvalidError(
      `job result of ${decoded.value.jobId}: object ${ref.name} is missing or invalid`,
    );
  return whole.value;
}

/** Parses a message from the done stream, following pagesObject to the complete result. */
export async function decodeFinal(js: JetStreamClient, data: Uint8Array): Promise<FinalResult> {
  const decoded = decodeJson(FinalResult, data);
  if (!decoded.ok) throw new FinalResultInvalidError(`final result: ${decoded.message}`);
  const ref = decoded.value.pagesObject;
  if (!ref) return decoded.value;
  const full = await readObject(js, ref.bucket, ref.name);
  if (!full)
    throw new FinalResultInvalidError(
      `final result of ${decoded.value.docId}: object ${ref.name} is missing`,
    );
  const whole = decodeJson(FinalResult, full);
  if (!whole.ok) throw new FinalResultInvalidError(`final result object: ${whole.message}`);
  return { ...whole.value, pagesObject: ref };
}

/** The stored DAG job result, or undefined when it has none (yet). */
export async function readJobResult(js: JetStreamClient, jobId: string): Promise<JobResult | undefined> {
  const jsm = await js.jetstreamManager();
  const stored = await jsm.streams
    .getMessage(STREAMS.done, { last_by_subj: subjects.done(jobId) })
    .catch(() => null);
  return stored ? decodeJobResult(js, stored.data) : undefined;
}

/** The stored final result of a document, or undefined when it has none (yet). */
export async function readFinal(js: JetStreamClient, docId: string): Promise<FinalResult | undefined> {
  const jsm = await js.jetstreamManager();
  const stored = await jsm.streams
    .getMessage(STREAMS.done, { last_by_subj: subjects.done(docId) })
    .catch(() => null);
  return stored ? decodeFinal(js, stored.data) : undefined;
}
