// The bare limit: the same extraction in a plain worker_threads pool, no NATS. Documents are cut
// into the same page-range chunks docswarm plans (planChunks with as many agents as threads), each
// thread takes the next chunk when it is free, and page texts come back to the main thread.
import { Worker } from "node:worker_threads";
import { planChunks } from "../agents/index.ts";
import type { EngineName, PageText, ProcessingConfig } from "../schemas/index.ts";
import type { BareTask } from "./bare-worker.ts";
import type { CorpusDoc } from "./corpus.ts";

const workerUrl = new URL("./bare-worker.ts", import.meta.url);

export type BareRun = {
  ms: number;
  pages: number;
  wrongPages: number;
  /** Page texts by document name, in page order. */
  texts: Map<string, PageText[]>;
};

export class BarePool {
  readonly threads: number;
  readonly #workers: Worker[];
  readonly #exits: Promise<unknown>[];
  readonly #shared = new Map<string, SharedArrayBuffer>();
  #runs = 0;

  /** `engine`: the engine the threads prefer (default: the agents' default). */
  constructor(threads: number, options: { engine?: EngineName } = {}) {
    this.threads = threads;
    this.#workers = Array.from(
      { length: threads },
      (_, i) => new Worker(workerUrl, { name: `agent bare-${i}`, workerData: { engine: options.engine } }),
    );
    this.#exits = this.#workers.map((w) => new Promise((r) => w.once("exit", r)));
  }

  #bytes(doc: CorpusDoc): SharedArrayBuffer {
    let sab = this.#shared.get(doc.name);
    if (!sab) {
      sab = new SharedArrayBuffer(doc.bytes.length);
      new Uint8Array(sab).set(doc.bytes);
      this.#shared.set(doc.name, sab);
    }
    return sab;
  }

  /**
   * Extracts every page of `docs`; resolves with the wall time from first task to last result.
   * `wholeFiles`: one task per document (what a script with a process pool does), else the page
   * ranges docswarm's planner would cut. Pages count as wrong when missing or, with `pageLines`
   * (the default: bench/corpus.ts's documents), when they do not start "Page n of".
   */
  async run(
    docs: CorpusDoc[],
    processing: ProcessingConfig,
    options: { wholeFiles?: boolean; pageLines?: boolean } = {},
  ): Promise<BareRun> {
    const run = this.#runs++;
    const tasks: BareTask[] = [];
    for (const doc of docs) {
      const chunks = options.wholeFiles
        ? [{ index: 0, firstPage: 1, lastPage: doc.pages }]
        : planChunks(doc.pages, { agents: this.threads, ...processing });
      for (const c of chunks) {
        tasks.push({
          id: tasks.length,
          run,
          name: doc.name,
          bytes: this.#bytes(doc),
          firstPage: c.firstPage,
          lastPage: c.lastPage,
          pageCount: doc.pages,
        });
      }
    }
    const byDoc = new Map<string, PageText[]>();
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let done = 0;
      const feed = (w: Worker) => {
        const t = tasks[next++];
        if (t) w.postMessage(t);
      };
      const cleanup = () => {
        for (const w of this.#workers) w.removeAllListeners("message").removeAllListeners("error");
      };
      for (const w of this.#workers) {
        w.on("message", (m: { id: number; pages: PageText[] }) => {
          const name = tasks[m.id]!.name;
          byDoc.set(name, [...(byDoc.get(name) ?? []), ...m.pages]);
          if (++done === tasks.length) {
            cleanup();
            resolve();
          } else feed(w);
        });
        w.on("error", (err) => {
          cleanup();
          reject(err);
        });
        feed(w);
      }
    });
    const ms = performance.now() - started;
    let pages = 0;
    let wrongPages = 0;
    for (const doc of docs) {
      const got = (byDoc.get(doc.name) ?? []).sort((a, b) => a.page - b.page);
      pages += got.length;
      const lines = options.pageLines ?? true;
      wrongPages += got.filter(
        (p, i) => p.page !== i + 1 || (lines && !p.text.startsWith(`Page ${i + 1} of `)),
      ).length;
      wrongPages += Math.max(0, doc.pages - got.length);
    }
    return { ms, pages, wrongPages, texts: byDoc };
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
    await Promise.all(this.#exits);
  }
}
