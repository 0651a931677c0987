// Reading stored messages with direct gets (one batched request instead of a consumer per read).
import type { JetStreamManager, MsgRequest, StoredMsg } from "@nats-io/jetstream";
import { isNoMessage } from "./errors.ts";

const BATCH = 256;

/** Every stored message on one subject, in stream order. */
export async function readSubject(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
): Promise<StoredMsg[]> {
  const out: StoredMsg[] = [];
  let seq = 1;
  for (;;) {
    const iter = await jsm.direct.getBatch(stream, { seq, next_by_subj: subject, batch: BATCH });
    let last: StoredMsg | undefined;
    try {
      for await (const m of iter) {
        out.push(m);
        last = m;
      }
    } catch (err) {
      // Nothing matched: direct gets answer status 404 (no message, no results), not an empty batch.
      if (!isNoMessage(err)) throw err;
    }
    if (!last || last.pending === 0) return out;
    seq = last.seq + 1;
  }
}

/**
 * readSubject answered by the stream's leader (one request per message): for reads that must see
 * everything stored. A direct get may be answered by any replica, and a replica cut off from its
 * leader keeps answering from what it had (the partition drill caught a document's bytes read as
 * missing that way); the leader's answer is current, or the request fails while there is no leader.
 */
export async function readSubjectFromLeader(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
): Promise<StoredMsg[]> {
  const out: StoredMsg[] = [];
  for (let seq = 1; ; ) {
    // The leader's message get takes next_by_subj with seq too (nats-server 2.10+); the types do not say so.
    const m = await jsm.streams.getMessage(stream, { seq, next_by_subj: subject } as unknown as MsgRequest);
    if (!m) return out;
    out.push(m);
    seq = m.seq + 1;
  }
}

/** The last stored message of every subject matching `filter` (a KV bucket's current entries). */
export async function readLastPerSubject(
  jsm: JetStreamManager,
  stream: string,
  filter: string,
): Promise<StoredMsg[]> {
  const out: StoredMsg[] = [];
  try {
    const iter = await jsm.direct.getLastMessagesFor(stream, { multi_last: [filter], batch: 10_000 });
    for await (const m of iter) out.push(m);
  } catch (err) {
    if (!isNoMessage(err)) throw err;
  }
  return out;
}
