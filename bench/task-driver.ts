// Drives tasks through a pipeline of JetStream hops and times them: publishes each task
// (JetStream publish with Nats-Msg-Id) and reads the results back with its own durable consumer,
// acking each one the way the coordinator consumes. Two pipelines use it:
//  - docswarm: Task envelopes on docswarm.task.<stage>.<priority>, results on docswarm.result.<docId>
//    (publish → stored → pulled by an agent → handler → result published → task acked → result
//    delivered to the durable consumer → acked);
//  - the floor (bench/floor.ts): the same hops with plain nats.js code and no docswarm.
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { type NatsConnection, nuid } from "@nats-io/transport-node";
import type { Priority, TaskInput } from "../schemas/index.ts";
import {
  ensureStage,
  type JetStreamPublisher,
  jsonBytes,
  publisherFor,
  STREAMS,
  subjects,
  taskId,
} from "../streams/index.ts";

export type DriverResult = { index: number; status: string; receivedAt: number };

export type Pipeline = {
  /** Subject, body and message id of task `index`. */
  message(
    index: number,
    input: unknown,
    priority: Priority,
  ): { subject: string; data: Uint8Array; msgID: string };
  resultStream: string;
  resultFilter: string;
  /** Removes what a run left behind (results, unprocessed tasks). */
  cleanup(jsm: JetStreamManager): Promise<void>;
};

/** Tasks of one docswarm user stage; all share one doc id so results land on one subject. */
export function docswarmPipeline(stage: string): Pipeline {
  const docId = `bench-${stage}-${nuid.next()}`;
  const runId = "b";
  return {
    message(index, input, priority) {
      const id = taskId(docId, runId, stage, index);
      const task: TaskInput = {
        v: 1,
        taskId: id,
        docId,
        runId,
        stage,
        priority,
        index,
        input,
        createdAt: Date.now(),
      };
      return { subject: subjects.task(stage, priority), data: jsonBytes(task), msgID: id };
    },
    resultStream: STREAMS.results,
    resultFilter: subjects.results(docId),
    async cleanup(jsm) {
      await jsm.streams.purge(STREAMS.results, { filter: subjects.results(docId) }).catch(() => {});
      await jsm.streams.purge(STREAMS.tasks, { filter: `docswarm.task.${stage}.*` }).catch(() => {});
    },
  };
}

export class TaskDriver {
  readonly #pipeline: Pipeline;
  readonly #publisher: JetStreamPublisher;
  readonly #jsm: JetStreamManager;
  readonly #consumer: string;
  readonly #messages: ConsumerMessages;
  readonly #loop: Promise<void>;
  /** performance.now() when publish() was called, by task index. */
  readonly sentAt = new Map<number, number>();
  readonly results = new Map<number, DriverResult>();
  duplicates = 0;
  #waiters: Array<() => void> = [];

  private constructor(
    pipeline: Pipeline,
    publisher: JetStreamPublisher,
    jsm: JetStreamManager,
    consumer: string,
    messages: ConsumerMessages,
  ) {
    this.#pipeline = pipeline;
    this.#publisher = publisher;
    this.#jsm = jsm;
    this.#consumer = consumer;
    this.#messages = messages;
    this.#loop = this.#read();
  }

  /** A driver for a docswarm stage (its consumers are created if missing). */
  static async forStage(nc: NatsConnection, stage: string): Promise<TaskDriver> {
    await ensureStage(nc, stage);
    return TaskDriver.start(nc, docswarmPipeline(stage));
  }

  static async start(nc: NatsConnection, pipeline: Pipeline): Promise<TaskDriver> {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const consumer = `bench-${nuid.next()}`;
    await jsm.consumers.add(pipeline.resultStream, {
      durable_name: consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: pipeline.resultFilter,
      max_ack_pending: 20_000,
      inactive_threshold: 60_000_000_000,
    });
    const messages = await (await js.consumers.get(pipeline.resultStream, consumer)).consume({
      max_messages: 1000,
    });
    return new TaskDriver(pipeline, publisherFor(nc), jsm, consumer, messages);
  }

  async #read(): Promise<void> {
    for await (const m of this.#messages) {
      const receivedAt = performance.now();
      const r = m.json<{ index: number; status: string }>();
      m.ack();
      if (this.results.has(r.index)) this.duplicates++;
      else this.results.set(r.index, { index: r.index, status: r.status, receivedAt });
      const w = this.#waiters;
      this.#waiters = [];
      for (const fn of w) fn();
    }
  }

  /** Publishes task `index`; resolves on the stream's acknowledgement. */
  async publish(index: number, input: unknown, priority: Priority = "normal"): Promise<void> {
    const { subject, data, msgID } = this.#pipeline.message(index, input, priority);
    this.sentAt.set(index, performance.now());
    await this.#publisher.publish(subject, data, { msgID });
  }

  /** Publishes tasks 0..count-1 as fast as the server acknowledges, `window` at a time. */
  async publishMany(count: number, input: (i: number) => unknown, window = 256): Promise<void> {
    let next = 0;
    const lane = async () => {
      while (next < count) {
        const i = next++;
        await this.publish(i, input(i));
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
  }

  /** Resolves when `count` distinct results have arrived; rejects after timeoutMs. */
  async waitFor(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.results.size < count) {
      if (Date.now() > deadline)
        throw new Error(`${this.results.size} of ${count} results after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Latencies (ms) from the publish call to the result's arrival. */
  latencies(): number[] {
    const out: number[] = [];
    for (const [i, r] of this.results) {
      const s = this.sentAt.get(i);
      if (s !== undefined) out.push(r.receivedAt - s);
    }
    return out;
  }

  /** First publish to last result, in ms. */
  spanMs(): number {
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    for (const s of this.sentAt.values()) first = Math.min(first, s);
    for (const r of this.results.values()) last = Math.max(last, r.receivedAt);
    return last - first;
  }

  /** Stops reading, deletes its consumer and what the run left in the streams. */
  async close(): Promise<void> {
    await this.#messages.close();
    await this.#loop.catch(() => {});
    await this.#jsm.consumers.delete(this.#pipeline.resultStream, this.#consumer).catch(() => {});
    await this.#pipeline.cleanup(this.#jsm);
  }
}
