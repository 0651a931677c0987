// The object store's chunk layout, written by docswarm's own puts (uploads, large finals): the
// library's putBlob awaits each chunk's ack before sending the next.
import { createHash, type Hash } from "node:crypto";
import type { JetStreamClient } from "@nats-io/jetstream";

/** The object store's own chunk size. */
export const CHUNK_BYTES = 128 * 1024;
/** Chunk publishes of one put awaiting their acks at once. */
const WINDOW = 8;

/** Base64url with padding: the object store's digest and metadata-subject encoding. */
export const b64urlPadded = (b: Buffer) => b.toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
/** The object store's digest text of a SHA-256 fed with the bytes. */
export const digestText = (hash: Hash) => `SHA-256=${b64urlPadded(hash.digest())}`;

/**
 * Publishes `bytes` to `subject` in chunks, up to WINDOW in flight, hashed while their acks travel.
 * They are stored in publish order: each publish is written to the connection before the next one
 * starts, and none is retried. A failed chunk fails the whole put.
 */
export async function publishChunks(
  js: JetStreamClient,
  subject: string,
  bytes: Uint8Array,
  maxPayloadBytes: number,
): Promise<{ chunks: number; chunkBytes: number; digest: string }> {
  const chunkBytes = Math.max(1024, Math.min(CHUNK_BYTES, maxPayloadBytes - 4096));
  const hash = createHash("sha256");
  const inFlight: Promise<unknown>[] = [];
  let chunks = 0;
  try {
    for (let at = 0; at < bytes.length; at += chunkBytes) {
      if (inFlight.length >= WINDOW) await inFlight.shift();
      const part = bytes.subarray(at, Math.min(bytes.length, at + chunkBytes));
      inFlight.push(js.publish(subject, part));
      hash.update(part);
      chunks++;
    }
    await Promise.all(inFlight);
  } finally {
    // After a failed chunk the others' outcomes no longer matter.
    for (const p of inFlight) p.catch(() => {});
  }
  return { chunks, chunkBytes, digest: digestText(hash) };
}
