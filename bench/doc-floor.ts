// The broker's share of a small document, measured: the same bytes and JetStream hops as a
// document's path through docswarm, written with plain nats.js and no extraction. A submission
// (the document's bytes, Nats-Msg-Id) goes to a work-queue file stream; a worker thread pulls it,
// publishes a result as large as docswarm's final to a file stream with Nats-Msg-Id and acks it;
// the submitter receives the result on core NATS and decodes it. What this costs per document is
// what any design that keeps a broker on the document's path pays before it does anything itself.
import { Worker } from "node:worker_threads";
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { headers, type NatsConnection, nanos } from "@nats-io/transport-node";
import type { CorpusDoc } from "./corpus.ts";
import { DOC_FLOOR } from "./floor-names.ts";

const workerUrl = new URL("./doc-floor-worker.ts", import.meta.url);

async function deleteStreams(jsm: JetStreamManager): Promise<void> {
  await jsm.streams.delete(DOC_FLOOR.submissions).catch(() => {});
  await jsm.streams.delete(DOC_FLOOR.results).catch(() => {});
}

async function createStreams(jsm: JetStreamManager): Promise<void> {
  await deleteStreams(jsm);
  const common = { storage: StorageType.File, num_replicas: 1, duplicate_window: nanos(10 * 60_000) };
  await jsm.streams.add({
    ...common,
    name: DOC_FLOOR.submissions,
    subjects: [DOC_FLOOR.submitSubject],
    retention: RetentionPolicy.Workqueue,
    max_bytes: 1024 ** 3,
  });
  await jsm.streams.add({
    ...common,
    name: DOC_FLOOR.results,
    subjects: [DOC_FLOOR.resultSubject],
    retention: RetentionPolicy.Limits,
  });
  await jsm.consumers.add(DOC_FLOOR.submissions, {
    durable_name: DOC_FLOOR.workers,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(30_000),
    max_ack_pending: 10_000,
  });
}

let runs = 0;
const encoder = new TextEncoder();

/** Worker threads on the document floor's streams; close() stops them and removes the streams. */
export class DocFloor {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #workers: Worker[];
  readonly #exits: Promise<unknown>[];
  #closing: Promise<void> | undefined;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, workers: Worker[]) {
    this.#nc = nc;
    this.#js = jetstream(nc);
    this.#jsm = jsm;
    this.#workers = workers;
    this.#exits = workers.map((w) => new Promise((r) => w.once("exit", r)));
  }

  static async start(nc: NatsConnection, url: string, threads: number): Promise<DocFloor> {
    const jsm = await jetstreamManager(nc);
    await createStreams(jsm);
    const workers = Array.from({ length: threads }, () => new Worker(workerUrl, { workerData: { url } }));
    const floor = new DocFloor(nc, jsm, workers);
    try {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once("message", () => resolve());
              w.once("error", reject);
              w.once("exit", (code) => reject(new Error(`document floor worker exited with code ${code}`)));
            }),
        ),
      );
    } catch (err) {
      await floor.close();
      throw err;
    }
    return floor;
  }

  /**
   * Submits every document at once (as the documents figure submits to docswarm) and waits for
   * each one's result; `resultBytes[i]` is the size of docswarm's final for `docs[i]`. Documents
   * above the server's payload limit (which docswarm uploads to its object store) are left out:
   * `docs` says how many ran. With `bytes: false` each submission carries only the document's name
   * (what a reference to a shared file would be): the messages without the document's bytes.
   */
  async run(
    corpus: CorpusDoc[],
    resultBytes: number[],
    options: { bytes?: boolean; timeoutMs?: number } = {},
  ): Promise<{ ms: number; docs: number }> {
    const inline = options.bytes ?? true;
    const limit = (this.#nc.info?.max_payload ?? 1024 * 1024) - 4096;
    const sizes = resultBytes.filter((_, i) => corpus[i]!.bytes.length <= limit);
    const docs = corpus.filter((d) => d.bytes.length <= limit);
    const tag = `f${runs++}-${Date.now().toString(36)}`;
    const ids = docs.map((d) => `${d.name}-${tag}`);
    const missing = new Set(ids);
    const all = Promise.withResolvers<void>();
    const decoder = new TextDecoder();
    let last = 0;
    const sub = this.#nc.subscribe(DOC_FLOOR.resultSubject, {
      callback: (err, m) => {
        if (err) return;
        const { docId } = JSON.parse(decoder.decode(m.data)) as { docId: string };
        if (missing.delete(docId)) last = performance.now();
        if (missing.size === 0) all.resolve();
      },
    });
    const timer = setTimeout(
      () => all.reject(new Error(`document floor: ${missing.size} of ${ids.length} results missing`)),
      options.timeoutMs ?? 120_000,
    );
    try {
      await this.#nc.flush();
      const started = performance.now();
      await Promise.all(
        docs.map((d, i) => {
          const h = headers();
          h.set(DOC_FLOOR.resultBytes, String(Math.min(sizes[i] ?? 0, limit)));
          const body = inline ? d.bytes : encoder.encode(d.name);
          return this.#js.publish(DOC_FLOOR.submitSubject, body, { msgID: ids[i]!, headers: h });
        }),
      );
      await all.promise;
      return { ms: last - started, docs: docs.length };
    } finally {
      clearTimeout(timer);
      sub.unsubscribe();
      await this.#jsm.streams.purge(DOC_FLOOR.results).catch(() => {});
    }
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
