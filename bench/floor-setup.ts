// What the floors (bench/floor.ts, bench/doc-floor.ts) share: a work-queue stream with one durable
// pull consumer and a limits stream for the results, both file storage as docswarm's; and worker
// threads started together, each ready once it posts its first message, stopped by a "stop"
// message and terminated if it lingers.
import { Worker } from "node:worker_threads";
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";

export type FloorStreams = {
  work: string;
  workSubject: string;
  results: string;
  resultSubject: string;
  consumer: string;
  ackWaitMs: number;
  maxAckPending: number;
  /** The work stream's byte limit (its block size follows it); the server's default without. */
  workMaxBytes?: number;
};

export async function deleteFloorStreams(jsm: JetStreamManager, s: FloorStreams): Promise<void> {
  await jsm.streams.delete(s.work).catch(() => {});
  await jsm.streams.delete(s.results).catch(() => {});
}

/** The streams and the consumer, afresh (any left by an earlier run are removed first). */
export async function createFloorStreams(jsm: JetStreamManager, s: FloorStreams): Promise<void> {
  await deleteFloorStreams(jsm, s);
  const common = { storage: StorageType.File, num_replicas: 1, duplicate_window: nanos(10 * 60_000) };
  await jsm.streams.add({
    ...common,
    name: s.work,
    subjects: [s.workSubject],
    retention: RetentionPolicy.Workqueue,
    ...(s.workMaxBytes !== undefined && { max_bytes: s.workMaxBytes }),
  });
  await jsm.streams.add({
    ...common,
    name: s.results,
    subjects: [s.resultSubject],
    retention: RetentionPolicy.Limits,
  });
  await jsm.consumers.add(s.work, {
    durable_name: s.consumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(s.ackWaitMs),
    max_ack_pending: s.maxAckPending,
  });
}

export class FloorThreads {
  readonly #workers: Worker[];
  readonly #exits: Promise<unknown>[];
  #closing: Promise<void> | undefined;

  private constructor(workers: Worker[]) {
    this.#workers = workers;
    this.#exits = workers.map((w) => new Promise((r) => w.once("exit", r)));
  }

  /** `count` threads of `url`, each given `workerData`; resolves when every one is ready. */
  static async start(url: URL, count: number, workerData: unknown, label: string): Promise<FloorThreads> {
    const threads = new FloorThreads(Array.from({ length: count }, () => new Worker(url, { workerData })));
    try {
      await Promise.all(
        threads.#workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once("message", () => resolve());
              w.once("error", reject);
              w.once("exit", (code) => reject(new Error(`${label} worker exited with code ${code}`)));
            }),
        ),
      );
    } catch (err) {
      await threads.close();
      throw err;
    }
    return threads;
  }

  close(): Promise<void> {
    this.#closing ??= Promise.all(
      this.#workers.map(async (w, i) => {
        w.postMessage("stop");
        const timer = setTimeout(() => void w.terminate(), 5000);
        await this.#exits[i];
        clearTimeout(timer);
      }),
    ).then(() => {});
    return this.#closing;
  }
}
