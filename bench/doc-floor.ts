// The broker's share of a small document, measured: the same bytes and JetStream hops as a
// document's path through docswarm, written with plain nats.js and no extraction. A submission
// (the document's bytes, Nats-Msg-Id) goes to a work-queue file stream; a worker thread pulls it,
// publishes a result as large as docswarm's final to a file stream with Nats-Msg-Id and acks it;
// the submitter receives the result on core NATS and decodes it. What this costs per document is
// what any design that keeps a broker on the document's path pays before it does anything itself.
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import type { CorpusDoc } from "./corpus.ts";
import { DOC_FLOOR } from "./floor-names.ts";
import { createFloorStreams, deleteFloorStreams, type FloorStreams, FloorThreads } from "./floor-setup.ts";

const workerUrl = new URL("./doc-floor-worker.ts", import.meta.url);

const STREAMS: FloorStreams = {
  work: DOC_FLOOR.submissions,
  workSubject: DOC_FLOOR.submitSubject,
  results: DOC_FLOOR.results,
  resultSubject: DOC_FLOOR.resultSubject,
  consumer: DOC_FLOOR.workers,
  ackWaitMs: 30_000,
  maxAckPending: 10_000,
  // docswarm's submission stream's limit, so the blocks are as large as its.
  workMaxBytes: 1024 ** 3,
};

let runs = 0;
const encoder = new TextEncoder();

/** Worker threads on the document floor's streams; close() stops them and removes the streams. */
export class DocFloor {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #threads: FloorThreads;
  #closing: Promise<void> | undefined;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, threads: FloorThreads) {
    this.#nc = nc;
    this.#js = jetstream(nc);
    this.#jsm = jsm;
    this.#threads = threads;
  }

  static async start(nc: NatsConnection, url: string, threads: number): Promise<DocFloor> {
    const jsm = await jetstreamManager(nc);
    await createFloorStreams(jsm, STREAMS);
    try {
      return new DocFloor(nc, jsm, await FloorThreads.start(workerUrl, threads, { url }, "document floor"));
    } catch (err) {
      await deleteFloorStreams(jsm, STREAMS);
      throw err;
    }
  }

  /**
   * Submits every document at once (as the documents figure submits to docswarm) and waits for
   * each one's result; `resultBytes[i]` is the size of docswarm's final for `corpus[i]`. Documents
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
    const kept = corpus.flatMap((doc, i) =>
      doc.bytes.length <= limit ? [{ doc, size: Math.min(resultBytes[i] ?? 0, limit) }] : [],
    );
    const docs = kept.map((k) => k.doc);
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
          h.set(DOC_FLOOR.resultBytes, String(kept[i]!.size));
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
    this.#closing ??= this.#threads.close().then(() => deleteFloorStreams(this.#jsm, STREAMS));
    return this.#closing;
  }
}
