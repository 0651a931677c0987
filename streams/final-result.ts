// Writing and reading the one final result of a document on docswarm.done.<docId>.
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import { decodeJson, FinalResult } from "../schemas/index.ts";
import { OBJECT_STORES, STREAMS, subjects } from "./names.ts";
import { readObject } from "./objects.ts";
import { isWrongLastSequence, jsonBytes } from "./wire.ts";

// Room for headers and protocol framing below the server's max payload.
const HEADROOM_BYTES = 16 * 1024;

export type PublishFinalOutcome = { outcome: "published" | "exists"; inline: boolean };

/**
 * Publishes the final result at most once per document: the expected last subject sequence 0 makes
 * the stream refuse a second one (a crashed merge run again, a coordinator failing a document that
 * merge just finished). Results above the server's max payload go to the results object store and
 * the message carries a reference.
 */
export async function publishFinal(
  js: JetStreamClient,
  final: FinalResult,
  runId: string,
  maxPayloadBytes: number,
): Promise<PublishFinalOutcome> {
  let body = jsonBytes(final);
  const inline = body.length <= maxPayloadBytes - HEADROOM_BYTES;
  if (!inline) {
    const store = await new Objm(js).open(OBJECT_STORES.results);
    const info = await store.putBlob({ name: final.docId }, body);
    body = jsonBytes({
      ...final,
      pages: [],
      pagesObject: { bucket: OBJECT_STORES.results, name: final.docId, size: info.size },
    } satisfies FinalResult);
  }
  try {
    await js.publish(subjects.final(final.docId), body, {
      msgID: `${final.docId}.${runId}.final`,
      expect: { lastSubjectSequence: 0 },
    });
    return { outcome: "published", inline };
  } catch (err) {
    if (isWrongLastSequence(err)) return { outcome: "exists", inline };
    throw err;
  }
}

/** Removes a document's final result so it can be processed again on explicit request. */
export async function purgeFinal(jsm: JetStreamManager, docId: string): Promise<void> {
  await jsm.streams.purge(STREAMS.done, { filter: subjects.done(docId) });
}

export class FinalResultInvalidError extends Error {
  readonly code = "SCHEMA_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "FinalResultInvalidError";
  }
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

/** The stored final result of a document, or undefined when it has none (yet). */
export async function readFinal(js: JetStreamClient, docId: string): Promise<FinalResult | undefined> {
  const jsm = await js.jetstreamManager();
  const stored = await jsm.streams
    .getMessage(STREAMS.done, { last_by_subj: subjects.done(docId) })
    .catch(() => null);
  return stored ? decodeFinal(js, stored.data) : undefined;
}
