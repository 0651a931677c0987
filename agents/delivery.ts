// One task message pulled from a consumer, with the JetStream ack verbs. Acks are plain publishes
// to the message's reply subject, so any connection can send them (the host sends in-progress acks
// for its agents' tasks from its own connection).
import type { Msg, MsgHdrs, NatsConnection } from "@nats-io/transport-node";
import type { TaskSource } from "../streams/index.ts";

export type AckInfo = {
  stream: string;
  consumer: string;
  delivered: number;
  streamSeq: number;
  /** When the stream stored the message, in ms since the epoch. */
  storedAt: number;
  pending: number;
};

/** Parses `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` (and the v2 form with domain and account). */
export function parseAckSubject(reply: string): AckInfo | undefined {
  const t = reply.split(".");
  if (t[0] !== "$JS" || t[1] !== "ACK") return undefined;
  const base = t.length === 9 ? 2 : t.length >= 11 ? 4 : -1;
  if (base < 0) return undefined;
  return {
    stream: t[base]!,
    consumer: t[base + 1]!,
    delivered: Number(t[base + 2]),
    streamSeq: Number(t[base + 3]),
    storedAt: Math.floor(Number(t[base + 5]) / 1e6),
    pending: Number(t[base + 6]),
  };
}

const ACK = new TextEncoder().encode("+ACK");
const WPI = new TextEncoder().encode("+WPI");

export class TaskDelivery {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  readonly reply: string;
  readonly info: AckInfo;
  readonly source: TaskSource;
  readonly receivedAt = Date.now();
  #settled = false;
  readonly #nc: NatsConnection;

  constructor(nc: NatsConnection, msg: Msg, info: AckInfo, source: TaskSource) {
    this.#nc = nc;
    this.subject = msg.subject;
    this.data = msg.data;
    this.headers = msg.headers;
    this.reply = msg.reply!;
    this.info = info;
    this.source = source;
  }

  get settled(): boolean {
    return this.#settled;
  }

  ack(): void {
    this.#settle(ACK);
  }

  /** Asks for redelivery, after delayMs when given. */
  nak(delayMs?: number): void {
    this.#settle(
      new TextEncoder().encode(delayMs ? `-NAK ${JSON.stringify({ delay: delayMs * 1_000_000 })}` : "-NAK"),
    );
  }

  /** Never redeliver: the task failed for good and its failure has been published. */
  term(reason: string): void {
    this.#settle(new TextEncoder().encode(`+TERM ${reason.replace(/\s+/g, " ").slice(0, 200)}`));
  }

  working(): void {
    if (!this.#settled) this.#nc.publish(this.reply, WPI);
  }

  #settle(payload: Uint8Array): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#nc.publish(this.reply, payload);
  }
}
