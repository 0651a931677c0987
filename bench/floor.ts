// The reference for coordination overhead: the same JetStream hops as a docswarm task (publish to
// a work-queue stream, a pull consumer in a worker thread, result published with Nats-Msg-Id to a
// limits stream, task acked, result read by a durable consumer) written with plain nats.js.
// What docswarm adds on top of this floor is its own cost.
import { Worker } from "node:worker_threads";
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { type NatsConnection, nanos, nuid } from "@nats-io/transport-node";
import type { TaskInput } from "../schemas/index.ts";
import { jsonBytes } from "../streams/index.ts";
import { FLOOR } from "./floor-names.ts";
import type { Pipeline } from "./task-driver.ts";

const workerUrl = new URL("./floor-worker.ts", import.meta.url);

async function createStreams(jsm: JetStreamManager): Promise<void> {
  await deleteStreams(jsm);
  const common = { storage: StorageType.File, num_replicas: 1, duplicate_window: nanos(10 * 60_000) };
  await jsm.streams.add({
    ...common,
    name: FLOOR.tasks,
    subjects: [FLOOR.taskSubject],
    retention: RetentionPolicy.Workqueue,
  });
  await jsm.streams.add({
    ...common,
    name: FLOOR.results,
    subjects: [FLOOR.resultSubject],
    retention: RetentionPolicy.Limits,
  });
  await jsm.consumers.add(FLOOR.tasks, {
    durable_name: FLOOR.workers,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(2000),
    max_ack_pending: 2000,
  });
}

async function deleteStreams(jsm: JetStreamManager): Promise<void> {
  await jsm.streams.delete(FLOOR.tasks).catch(() => {});
  await jsm.streams.delete(FLOOR.results).catch(() => {});
}

export function floorPipeline(): Pipeline {
  const docId = `floor-${nuid.next()}`;
  return {
    message(index, input, priority) {
      const id = `${docId}.b.floor.${index}`;
      const task: TaskInput = {
        v: 1,
        taskId: id,
        docId,
        runId: "b",
        stage: "floor",
        priority,
        index,
        input,
        createdAt: Date.now(),
      };
      return { subject: FLOOR.taskSubject, data: jsonBytes(task), msgID: id };
    },
    resultStream: FLOOR.results,
    resultFilter: FLOOR.resultSubject,
    async cleanup(jsm) {
      await jsm.streams.purge(FLOOR.results).catch(() => {});
      await jsm.streams.purge(FLOOR.tasks).catch(() => {});
    },
  };
}

/** Floor workers (threads) consuming the floor's task stream; close() stops them and removes the streams. */
export class Floor {
  readonly #workers: Worker[];
  readonly #exits: Promise<unknown>[];
  readonly #jsm: JetStreamManager;
  #closing: Promise<void> | undefined;

  private constructor(workers: Worker[], jsm: JetStreamManager) {
    this.#workers = workers;
    this.#exits = workers.map((w) => new Promise((r) => w.once("exit", r)));
    this.#jsm = jsm;
  }

  static async start(nc: NatsConnection, url: string, threads: number, slots: number): Promise<Floor> {
    const jsm = await jetstreamManager(nc);
    await createStreams(jsm);
    const workers = Array.from(
      { length: threads },
      () => new Worker(workerUrl, { workerData: { url, slots } }),
    );
    const floor = new Floor(workers, jsm);
    try {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once("message", () => resolve());
              w.once("error", reject);
              w.once("exit", (code) => reject(new Error(`floor worker exited with code ${code}`)));
            }),
        ),
      );
    } catch (err) {
      await floor.close();
      throw err;
    }
    return floor;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all(
        this.#workers.map(async (w, i) => {
          w.postMessage("stop");
          const timer = setTimeout(() => void w.terminate(), 5000);
          await this.#exits[i];
          clearTimeout(timer);
        }),
      );
      await deleteStreams(this.#jsm);
    })();
    return this.#closing;
  }
}
