// Reading stored messages with direct gets (one batched request instead of a consumer per read).
import type { JetStreamManager, StoredMsg } from "@nats-io/jetstream";
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
