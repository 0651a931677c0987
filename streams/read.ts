// Reading stored messages with direct gets (one batched request instead of a consumer per read).
import type { JetStreamManager, StoredMsg } from "@nats-io/jetstream";

const BATCH = 256;

// Nothing matched: direct gets answer 404 "message not found" instead of an empty batch.
function isNoMessage(err: unknown): boolean {
  return (
    (err as { code?: number }).code === 404 || /no message|not found|no results/i.test((err as Error).message)
  );
}

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
