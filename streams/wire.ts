// Encoding and publishing helpers shared by every process: JSON in, validated JSON out, idempotent
// publishes (Nats-Msg-Id), compare-and-set publishes, and per-key TTL writes into KV buckets.
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/transport-node";
import { kvSubject } from "./names.ts";

const encoder = new TextEncoder();

/**
 * Room kept under the server's max_payload for headers (trace context, ids, expected sequences)
 * when deciding whether a body goes inline or to the object store.
 */
export const PAYLOAD_HEADROOM_BYTES = 16 * 1024;

export function jsonBytes(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export type PublishOptions = {
  msgID?: string;
  headers?: MsgHdrs;
  expectLastSubjectSequence?: number;
  ttlMs?: number;
  /** How long to wait for the stream's acknowledgement. */
  timeoutMs?: number;
};

export async function publishJson(
  js: JetStreamClient,
  subject: string,
  value: unknown,
  opts: PublishOptions = {},
): Promise<PubAck> {
  return js.publish(subject, jsonBytes(value), {
    ...(opts.msgID !== undefined && { msgID: opts.msgID }),
    ...(opts.headers && { headers: opts.headers }),
    ...(opts.timeoutMs !== undefined && { timeout: opts.timeoutMs }),
    ...(opts.expectLastSubjectSequence !== undefined && {
      expect: { lastSubjectSequence: opts.expectLastSubjectSequence },
    }),
    // Nats-TTL takes a Go duration of at least one second.
    ...(opts.ttlMs !== undefined && { ttl: `${Math.max(1000, Math.ceil(opts.ttlMs))}ms` }),
  });
}

/**
 * Writes a KV entry with its own TTL (nats-server 2.11+ per-message TTL); the bucket's marker TTL
 * then turns its expiry into a delete event that watchers see. The KV client has no per-put TTL,
 * so this publishes to the bucket's subject directly.
 */
export async function kvPutWithTtl(
  js: JetStreamClient,
  bucket: string,
  key: string,
  value: unknown,
  ttlMs: number,
  expectRevision?: number,
  timeoutMs?: number,
): Promise<number> {
  const ack = await publishJson(js, kvSubject(bucket, key), value, {
    ttlMs,
    ...(expectRevision !== undefined && { expectLastSubjectSequence: expectRevision }),
    ...(timeoutMs !== undefined && { timeoutMs }),
  });
  return ack.seq;
}
