// Reading whole objects from an object store with batched direct gets. The client library's get()
// streams chunks through an ephemeral push consumer per read; at pipeline rates (a read per task)
// those consumers pile up on the server faster than they expire, until it refuses new ones
// ("maximum consumers limit reached") and tasks fail. Direct gets leave nothing behind.
import { createHash } from "node:crypto";
import type { JetStreamClient } from "@nats-io/jetstream";
import { type ObjectStore, Objm, setSha256Backend } from "@nats-io/obj";
import { headers, nuid } from "@nats-io/transport-node";
import { ObjectDigestError } from "./errors.ts";
import { b64urlPadded, publishChunks } from "./object-chunks.ts";
import { readSubject, readSubjectFromLeader } from "./read.ts";

/** The bytes of object `name` in `bucket`, or null when there is no such object. */
export async function readObject(
  js: JetStreamClient,
  bucket: string,
  name: string,
): Promise<Uint8Array | null> {
  const store = await openStore(js, bucket);
  const info = await store.info(name);
  if (!info || info.deleted) return null;
  if (info.size === 0) return new Uint8Array();
  const jsm = await js.jetstreamManager();
  const subject = `$O.${bucket}.C.${info.nuid}`;
  let chunks = await readSubject(jsm, `OBJ_${bucket}`, subject);
  // The info came from the leader; fewer chunks than it promises come from a replica behind it.
  if (chunks.length < info.chunks) chunks = await readSubjectFromLeader(jsm, `OBJ_${bucket}`, subject);
  const out = new Uint8Array(info.size);
  let at = 0;
  for (const c of chunks) {
    if (at + c.data.length > out.length)
      throw new ObjectDigestError(`object ${bucket}/${name} is larger than its info says`);
    out.set(c.data, at);
    at += c.data.length;
  }
  if (at !== info.size) return null; // replaced or deleted while we read
  if (info.digest.startsWith("SHA-256=")) {
    const expected = info.digest.slice(8).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const hash = createHash("sha256").update(out).digest();
    const matches =
      expected === hash.toString("base64url") || expected.toLowerCase() === hash.toString("hex");
    if (!matches) throw new ObjectDigestError(`object ${bucket}/${name}: its bytes do not match its digest`);
  }
  return out;
}

/**
 * Stores `bytes` as object `name` of `bucket`, a name nobody else writes (it replaces nothing, so
 * no earlier version is looked up or purged). The library's putBlob awaits each 128 KB chunk's ack
 * before sending the next: a long document's 1.1 MB final result took 9 sequential round trips,
 * at the end of the document's path. Here the chunks go through publishChunks (streams/object-chunks.ts, 8 in flight),
 * then the metadata that makes them the object, laid out
 * as the library writes it. A failed put removes the chunks it stored.
 */
export async function putObject(
  js: JetStreamClient,
  bucket: string,
  name: string,
  bytes: Uint8Array,
  maxPayloadBytes: number,
): Promise<{ size: number }> {
  const id = nuid.next();
  const chunkSubject = `$O.${bucket}.C.${id}`;
  try {
    const { chunks, chunkBytes, digest } = await publishChunks(js, chunkSubject, bytes, maxPayloadBytes);
    const info = {
      name,
      description: "",
      bucket,
      nuid: id,
      size: bytes.length,
      chunks,
      digest,
      mtime: new Date().toISOString(),
      deleted: false,
      options: { max_chunk_size: chunkBytes },
    };
    const h = headers();
    h.set("Nats-Rollup", "sub");
    const metaSubject = `$O.${bucket}.M.${b64urlPadded(Buffer.from(name))}`;
    await js.publish(metaSubject, JSON.stringify(info), { headers: h });
    return { size: bytes.length };
  } catch (err) {
    const jsm = await js.jetstreamManager();
    await jsm.streams.purge(`OBJ_${bucket}`, { filter: chunkSubject }).catch(() => {});
    throw err;
  }
}

/**
 * The object store client, hashing with node:crypto. The library's default is a pure-JS SHA-256
 * (for browsers), ~14x slower here: putting a long document's 1.1 MB final result took ~14 ms of
 * an agent's CPU in hashing alone. The backend is per module graph, so every thread sets it.
 */
export function objectStores(js: JetStreamClient): Objm {
  setSha256Backend("native");
  return new Objm(js);
}

const stores = new WeakMap<JetStreamClient, Map<string, Promise<ObjectStore>>>();

function openStore(js: JetStreamClient, bucket: string): Promise<ObjectStore> {
  let byBucket = stores.get(js);
  if (!byBucket) {
    byBucket = new Map();
    stores.set(js, byBucket);
  }
  let store = byBucket.get(bucket);
  if (!store) {
    store = objectStores(js).open(bucket);
    store.catch(() => byBucket.delete(bucket));
    byBucket.set(bucket, store);
  }
  return store;
}
