// Large documents from submitters: chunks published under a fresh, unguessable upload id on the docs
// object store's chunk subjects ($O.docswarm-docs.C.<id>), then a submission naming the id, size and
// SHA-256. Submitters may publish chunks but never object metadata, so they can neither name,
// replace nor delete an object; split reads the chunks, checks size and digest, stores the bytes
// as the swarm's own object and purges the upload.
import { createHash } from "node:crypto";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { nuid } from "@nats-io/transport-node";
import { OBJECT_STORES } from "./names.ts";
import { readSubject } from "./read.ts";

/** The object store's own chunk size. */
const CHUNK_BYTES = 128 * 1024;

export type Upload = { id: string; size: number; digest: string };

const chunkSubject = (id: string) => `$O.${OBJECT_STORES.docs}.C.${id}`;
const digestOf = (bytes: Uint8Array) => `SHA-256=${createHash("sha256").update(bytes).digest("base64url")}`;

export class UploadError extends Error {
  readonly code: "OBJECT_MISSING" | "HEADER_INVALID";
  constructor(code: "OBJECT_MISSING" | "HEADER_INVALID", message: string) {
    super(message);
    this.name = "UploadError";
    this.code = code;
  }
}

/** Publishes `bytes` as an upload; what the submission's Docswarm-Upload* headers carry. */
export async function uploadDocument(
  js: JetStreamClient,
  bytes: Uint8Array,
  maxPayloadBytes: number,
): Promise<Upload> {
  const id = nuid.next();
  const subject = chunkSubject(id);
  const chunk = Math.max(1024, Math.min(CHUNK_BYTES, maxPayloadBytes - 4096));
  for (let at = 0; at < bytes.length; at += chunk) {
    await js.publish(subject, bytes.subarray(at, Math.min(bytes.length, at + chunk)));
  }
  return { id, size: bytes.length, digest: digestOf(bytes) };
}

/** The uploaded bytes, checked against the size and digest the submission promised. */
export async function readUpload(jsm: JetStreamManager, upload: Upload): Promise<Uint8Array> {
  if (!/^[A-Za-z0-9]{8,64}$/.test(upload.id))
    throw new UploadError("OBJECT_MISSING", `bad upload id '${upload.id}'`);
  const chunks = await readSubject(jsm, `OBJ_${OBJECT_STORES.docs}`, chunkSubject(upload.id));
  const total = chunks.reduce((n, c) => n + c.data.length, 0);
  if (chunks.length === 0) throw new UploadError("OBJECT_MISSING", `upload ${upload.id} is not stored`);
  if (total !== upload.size)
    throw new UploadError("HEADER_INVALID", `upload ${upload.id} has ${total} bytes, not ${upload.size}`);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c.data, at);
    at += c.data.length;
  }
  if (digestOf(out) !== upload.digest)
    throw new UploadError("HEADER_INVALID", `upload ${upload.id} does not match its digest`);
  return out;
}

/** Removes an upload's chunks once split has stored the document. */
export async function purgeUpload(jsm: JetStreamManager, id: string): Promise<void> {
  await jsm.streams.purge(`OBJ_${OBJECT_STORES.docs}`, { filter: chunkSubject(id) });
}
