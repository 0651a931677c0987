// Triage of plain `docswarm.submit`: a raw client's submission names its priority in a header, but
// splitting is ordered by subject (split-<priority> consumers). So before anything is split, the
// agent that pulls a plain submission republishes it, body and headers as they came, to
// `docswarm.submit.<header priority>` and acks it. The headers are not validated here: split does
// that on the moved message as it always has (an unknown priority goes to normal and fails
// HEADER_INVALID there, as before triage). The moved message is a new submission to the stream, so
// its stream sequence is the run id; the doc id comes from the same headers and bytes.
import { type MsgHdrs, headers as newHeaders } from "@nats-io/transport-node";
import { HEADERS, Priority } from "../schemas/index.ts";
import { isStreamFull, type JetStreamPublisher, subjects } from "../streams/index.ts";
import type { TaskDelivery } from "./delivery.ts";

/** Pause before a submission whose move failed (no stream leader, a timeout) is tried again. */
const RETRY_MS = 500;

/** The priority a plain submission is moved to: its header's, else normal. */
export function triagePriority(h: MsgHdrs | undefined): Priority {
  const p = Priority.safeParse(h?.get(HEADERS.priority));
  return p.success ? p.data : "normal";
}

/**
 * The headers to send on: all but the server's (`Nats-*`: the original's message id, expectations
 * on the subject it was published to), which would refer to the first publish.
 */
function forwarded(h: MsgHdrs | undefined): MsgHdrs {
  const out = newHeaders();
  if (!h) return out;
  for (const key of h.keys()) {
    if (key.toLowerCase().startsWith("nats-")) continue;
    for (const v of h.values(key)) out.append(key, v);
  }
  return out;
}

export type TriageOutcome =
  /** Republished (or already, by an earlier delivery) and acked. */
  | "moved"
  /** Could not be moved and this is its last delivery, or the stream is full: split it here. */
  | "split-here"
  /** Could not be moved now; nak'ed to come back. */
  | "retry";

/**
 * Moves one plain submission. The message id is `triage.<stream sequence>`, so a redelivery after a
 * lost ack is dropped by the stream as a duplicate. A full stream cannot take the copy before the
 * original goes, and neither can a last delivery wait: such a submission is split where it is, at
 * its header's priority (agents/submission.ts reads the header too), as before triage existed.
 */
export async function triage(
  d: TaskDelivery,
  publisher: JetStreamPublisher,
  maxDeliver: number,
): Promise<TriageOutcome> {
  const priority = triagePriority(d.headers);
  try {
    await publisher.publish(subjects.submitAt(priority), d.data, {
      headers: forwarded(d.headers),
      msgID: `triage.${d.info.streamSeq}`,
    });
  } catch (err) {
    if (isStreamFull(err) || (maxDeliver > 0 && d.info.delivered >= maxDeliver)) return "split-here";
    d.nak(RETRY_MS);
    return "retry";
  }
  d.ack();
  return "moved";
}
