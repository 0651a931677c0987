// The leader's look at storage: every few seconds, each stream, bucket and object store against its
// limits. Crossing the warning share (80 % unless `docswarm init --storage-warn-ratio` said
// otherwise) publishes storage.high and logs a warning, once per crossing; falling back below it by
// a margin publishes storage.ok. A full done stream drops its oldest results and a full jobs
// bucket stops new documents, so this is when an operator wants to hear about it.
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { readStorage } from "../observability/index.ts";
import type { StorageUse } from "../schemas/index.ts";
import { publishEvent } from "./events.ts";

type Log = (
  level: "debug" | "info" | "warn" | "error",
  msg: string,
  fields?: Record<string, unknown>,
) => void;

/** Below the warning share by this much before a resource counts as back to normal. */
const HYSTERESIS = 0.05;

export class StorageWatch {
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #log: Log;
  readonly #timer: NodeJS.Timeout;
  readonly #high = new Set<string>();
  #running: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(nc: NatsConnection, jsm: JetStreamManager, opts: { everyMs: number; log: Log }) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#log = opts.log;
    this.#timer = setInterval(() => void this.check(), opts.everyMs);
  }

  /** One look (also run by the timer); resolves when it is done. */
  check(): Promise<void> {
    this.#running ??= this.#look()
      .catch((err) => this.#log("debug", "storage check failed", { err: (err as Error).message }))
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  async #look(): Promise<void> {
    const storage = await readStorage(this.#jsm);
    for (const item of storage.items) {
      if (!item.exists || item.limitedBy === "none") continue;
      if (item.used >= storage.warnRatio && !this.#high.has(item.name)) {
        this.#high.add(item.name);
        this.#log("warn", `storage: ${item.name} is at ${Math.round(item.used * 100)} % of its limit`, {
          resource: item.name,
          bytes: item.bytes,
          maxBytes: item.maxBytes,
          messages: item.messages,
          maxMsgs: item.maxMsgs,
          atLimit: item.atLimit,
        });
        this.#publish("storage.high", item, storage.warnRatio);
      } else if (item.used < storage.warnRatio - HYSTERESIS && this.#high.delete(item.name)) {
        this.#publish("storage.ok", item, storage.warnRatio);
      }
    }
  }

  #publish(type: "storage.high" | "storage.ok", item: StorageUse, warnRatio: number): void {
    publishEvent(this.#nc, {
      type,
      at: Date.now(),
      name: item.name,
      kind: item.kind,
      used: item.used,
      limitedBy: item.limitedBy === "messages" ? "messages" : "bytes",
      bytes: item.bytes,
      maxBytes: item.maxBytes,
      messages: item.messages,
      maxMsgs: item.maxMsgs,
      warnRatio,
    });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      await this.#running;
    })();
    return this.#closing;
  }
}
