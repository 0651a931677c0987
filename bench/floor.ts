// The reference for coordination overhead: the same JetStream hops as a docswarm task (publish to
// a work-queue stream, a pull consumer in a worker thread, result published with Nats-Msg-Id to a
// limits stream, task acked, result read by a durable consumer) written with plain nats.js.
// What docswarm adds on top of this floor is its own cost.
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { type NatsConnection, nuid } from "@nats-io/transport-node";
import type { TaskInput } from "../schemas/index.ts";
import { jsonBytes } from "../streams/index.ts";
import { FLOOR } from "./floor-names.ts";
import { createFloorStreams, deleteFloorStreams, type FloorStreams, FloorThreads } from "./floor-setup.ts";
import type { Pipeline } from "./task-driver.ts";

const workerUrl = new URL("./floor-worker.ts", import.meta.url);

const STREAMS: FloorStreams = {
  work: FLOOR.tasks,
  workSubject: FLOOR.taskSubject,
  results: FLOOR.results,
  resultSubject: FLOOR.resultSubject,
  consumer: FLOOR.workers,
  ackWaitMs: 2000,
  maxAckPending: 2000,
};

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
  readonly #threads: FloorThreads;
  readonly #jsm: JetStreamManager;
  #closing: Promise<void> | undefined;

  private constructor(threads: FloorThreads, jsm: JetStreamManager) {
    this.#threads = threads;
    this.#jsm = jsm;
  }

  static async start(nc: NatsConnection, url: string, threads: number, slots: number): Promise<Floor> {
    const jsm = await jetstreamManager(nc);
    await createFloorStreams(jsm, STREAMS);
    try {
      return new Floor(await FloorThreads.start(workerUrl, threads, { url, slots }, "floor"), jsm);
    } catch (err) {
      await deleteFloorStreams(jsm, STREAMS);
      throw err;
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#threads.close().then(() => deleteFloorStreams(this.#jsm, STREAMS));
    return this.#closing;
  }
}
