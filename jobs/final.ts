// The final-result protocol: the one stored final result of a document (or DAG job) on
// docswarm.done.<id>, written at most once (jobs/end.ts is its only writer) and read back here.
import type { JetStreamClient, JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import { type ObjectStore, Objm } from "@nats-io/obj";
import { nuid } from "@nats-io/transport-node";
import { decodeJson, FinalResult, Job, JobResult, ObjectRef } from "../schemas/index.ts";
import {
  BUCKETS,
  isNoMessage,
  isWrongLastSequence,
  jsonBytes,
  kvStream,
  OBJECT_STORES,
  PAYLOAD_HEADROOM_BYTES,
  readObject,
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
 * Publishes a final result at most once per document: the expected last subject sequence 0 makes
 * the stream refuse a second one (a crashed merge run again, a coordinator failing a document that
 * merge just finished). Results above the server's max payload go to the results object store under
 * a name of this writer's own (`<id>.<runId>.<nuid>`), and the message carries a reference: a second
 * writer (a redelivered merge) never replaces the stored result's object — putBlob under a shared
 * name removed the old chunks first, so a reader in between found the object missing — and a
 * refused writer removes its own. A result above the per-result cap is not stored anywhere (so one
 * huge result cannot evict many others from the done stream): the document fails RESULT_TOO_LARGE.
 */
export async function publishDone(
  js: JetStreamClient,
  id: string,
  result: FinalResult | JobResult,
  runId: string,
  { maxPayloadBytes, maxResultBytes }: FinalLimits,
): Promise<PublishFinalOutcome> {
  let body = jsonBytes(result);
  let final = result;
  if (body.length > maxResultBytes) {
    final = tooLarge(result, body.length, maxResultBytes);
    body = jsonBytes(final);
  }
  const inline = body.length <= maxPayloadBytes - PAYLOAD_HEADROOM_BYTES;
  let object: { store: ObjectStore; name: string } | undefined;
  if (!inline) {
    const store = await new Objm(js).open(OBJECT_STORES.results);
    object = { store, name: `${id}.${runId}.${nuid.next()}` };
    const info = await store.putBlob({ name: object.name }, body);
    const ref = { bucket: OBJECT_STORES.results, name: object.name, size: info.size };
    body = jsonBytes(
      final.kind === "job"
        ? ({ ...final, outputs: {}, outputsObject: ref } as JobResult)
        : ({ ...final, pages: [], stages: {}, pagesObject: ref } satisfies FinalResult),
    );
  }
  try {
    await js.publish(subjects.final(id), body, {
      msgID: `${id}.${runId}.final`,
      expect: { lastSubjectSequence: 0 },
    });
    return { outcome: "published", inline };
  } catch (err) {
    if (!isWrongLastSequence(err)) throw err;
    await object?.store.delete(object.name).catch(() => {});
    return { outcome: "exists", inline };
  }
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

/**
 * Which run stored the final result of a document (or DAG job), from its message id
 * (`<id>.<runId>.final`); null when none is stored, undefined when the stored one has no such id.
 */
export async function finalRun(jsm: JetStreamManager, id: string): Promise<string | undefined | null> {
  const stored = await jsm.streams
    .getMessage(STREAMS.done, { last_by_subj: subjects.done(id) })
    .catch((err: unknown) => {
      if (isNoMessage(err)) return null;
      throw err;
    });
  return stored ? runOfFinal(id, stored) : null;
}

/**
 * A reprocess takes the document's final result over once its job is recorded: the final result
 * of any run other than the one its job names now (its own, or a later reprocess's that recorded
 * meanwhile; read from the jobs bucket's stream leader) goes, by its sequence, never one the
 * owner wrote meanwhile. Idempotent: a redelivery repeats it, and once the owner's final is
 * stored nothing changes.
 */
export async function takeOverFinal(js: JetStreamClient, docId: string, runId: string): Promise<void> {
  const jsm = await js.jetstreamManager(false);
  const stored = await jsm.streams
    .getMessage(STREAMS.done, { last_by_subj: subjects.done(docId) })
    .catch((err: unknown) => {
      if (isNoMessage(err)) return null;
      throw err;
    });
  const owner = (await ownerOf(jsm, docId)) ?? runId;
  if (stored && runOfFinal(docId, stored) !== owner)
    await jsm.streams.deleteMessage(STREAMS.done, stored.seq, false).catch(() => {});
}

/** The run the document's job names, read from the jobs bucket's stream leader. */
async function ownerOf(jsm: JetStreamManager, docId: string): Promise<string | undefined> {
  const m = await jsm.streams
    .getMessage(kvStream(BUCKETS.jobs), { last_by_subj: `$KV.${BUCKETS.jobs}.${docId}` })
    .catch((err: unknown) => {
      if (isNoMessage(err)) return null;
      throw err;
    });
  if (!m || m.data.length === 0) return undefined;
  const job = decodeJson(Job, m.data);
  return job.ok ? job.value.runId : undefined;
}

/** The run that wrote a stored final result, from its message id (`<id>.<runId>.final`). */
function runOfFinal(id: string, stored: StoredMsg): string | undefined {
  const msgId = stored.header?.get("Nats-Msg-Id") ?? "";
  const prefix = `${id}.`;
  return msgId.startsWith(prefix) && msgId.endsWith(".final")
    ? msgId.slice(prefix.length, -".final".length)
    : undefined;
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
  const full = await (await new Objm(js).open(ref.bucket)).getBlob(ref.name);
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
