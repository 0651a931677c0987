// Large documents from submitters: chunks published under a fresh, unguessable upload id on the docs
// object store's chunk subjects ($O.docswarm-docs.C.<id>), then a submission naming the id, size and
// SHA-256. Submitters may publish chunks but never object metadata, so they can neither name,
// replace nor delete an object; split reads the chunks, checks size and digest, and writes the
// metadata that makes those very chunks the swarm's own object (no copy; ADR-20's object layout).
import { createHash } from "node:crypto";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { headers, nuid } from "@nats-io/transport-node";
import { UploadError } from "./errors.ts";
import { OBJECT_STORES } from "./names.ts";
import { b64urlPadded, CHUNK_BYTES, digestText, publishChunks } from "./object-chunks.ts";
import { readSubject } from "./read.ts";

export type Upload = { id: string; size: number; digest: string };
/** An upload read and checked: its bytes, how many chunks hold them, and their digest (as computed). */
export type ReadUpload = { bytes: Uint8Array; chunks: number; digest: string };

const chunkSubject = (id: string) => `$O.${OBJECT_STORES.docs}.C.${id}`;
const digestOf = (bytes: Uint8Array) => digestText(createHash("sha256").update(bytes));
const sameDigest = (a: string, b: string) => a.replace(/=+$/, "") === b.replace(/=+$/, "");

/**
 * The default doc id of an upload's document, from the digest its submission names: the same id as
 * defaultDocId(bytes) would give (a digest that lies fails the digest check under that id).
 */
export function uploadDocId(digest: string | undefined): string | undefined {
  const m = /^SHA-256=([A-Za-z0-9_-]{43})=?$/.exec(digest ?? "");
  return m ? Buffer.from(m[1]!, "base64url").toString("hex").slice(0, 32) : undefined;
}

/**
 * Publishes `bytes` as an upload; what the submission's Docswarm-Upload* headers carry. Its chunks go through
 * publishChunks (streams/object-chunks.ts, 8 in flight) (a 2 MB manual took 18 sequential round trips before its
 * submission could go) and hashed while their acks travel. They are stored in publish order: each
 * publish is written to the connection before the next one starts, and none is retried.
 */
export async function uploadDocument(
  js: JetStreamClient,
  bytes: Uint8Array,
  maxPayloadBytes: number,
): Promise<Upload> {
  const id = nuid.next();
  const subject = chunkSubject(id);
  const { digest } = await publishChunks(js, subject, bytes, maxPayloadBytes);
  return { id, size: bytes.length, digest };
}

/** The uploaded bytes, checked against the size and digest the submission promised. */
export async function readUpload(jsm: JetStreamManager, upload: Upload): Promise<ReadUpload> {
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
  const digest = digestOf(out);
  if (!sameDigest(digest, upload.digest))
    throw new UploadError("HEADER_INVALID", `upload ${upload.id} does not match its digest`);
  return { bytes: out, chunks: chunks.length, digest };
}

/**
 * Makes a checked upload the docs store's object `name`: writes only its metadata (rolled up, as the
 * object store does), pointing at the upload's chunks. Idempotent, so a redelivered split may repeat it.
 */
export async function adoptUpload(
  js: JetStreamClient,
  upload: Upload,
  read: ReadUpload,
  name: string,
): Promise<{ size: number }> {
  const info = {
    name,
    description: "",
    bucket: OBJECT_STORES.docs,
    nuid: upload.id,
    size: read.bytes.length,
    chunks: read.chunks,
    // Computed by readUpload (hashing a long document again cost ~5 ms per manual).
    digest: read.digest,
    mtime: new Date().toISOString(),
    deleted: false,
    options: { max_chunk_size: CHUNK_BYTES },
  };
  const h = headers();
  h.set("Nats-Rollup", "sub");
  const subject = `$O.${OBJECT_STORES.docs}.M.${b64urlPadded(Buffer.from(name))}`;
  await js.publish(subject, new TextEncoder().encode(JSON.stringify(info)), { headers: h });
  return { size: info.size };
}

/** Removes an upload's chunks (one that never became an object: its document failed before). */
export async function purgeUpload(jsm: JetStreamManager, id: string): Promise<void> {
  await jsm.streams.purge(`OBJ_${OBJECT_STORES.docs}`, { filter: chunkSubject(id) });
}
