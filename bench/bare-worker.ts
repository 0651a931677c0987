// A bare pool thread: the extract stage's own code (the agents' engine choice through DocumentCache,
// text and statistics per page) on page ranges it is handed, with no NATS anywhere.
import { parentPort, workerData } from "node:worker_threads";
import { chooseEngine, DocumentCache, extractStage, type StageContext } from "../agents/index.ts";
import type { EngineName } from "../schemas/index.ts";

export type BareTask = {
  id: number;
  name: string;
  /** The document's bytes, shared with the main thread (no copy per task). */
  bytes: SharedArrayBuffer;
  firstPage: number;
  lastPage: number;
  pageCount: number;
};

const docs = new Map<string, Uint8Array>();
// The same per-agent cache of opened documents as docswarm's agents, reading from memory.
// The engine docswarm's agents use (the default, with its fallback) unless the pool was given one.
const engine = chooseEngine({ preferred: (workerData as { engine?: EngineName } | undefined)?.engine });
const cache = new DocumentCache(engine, async (_bucket, name) => docs.get(name) ?? null);
const signal = new AbortController().signal;
const ctx = { signal, task: { runId: "bare" }, services: { documents: cache } } as unknown as StageContext;

parentPort!.on("message", async (t: BareTask) => {
  docs.set(t.name, new Uint8Array(t.bytes));
  const out = await extractStage.process(
    {
      object: { bucket: "bare", name: t.name, size: t.bytes.byteLength },
      range: { index: 0, firstPage: t.firstPage, lastPage: t.lastPage },
      pageCount: t.pageCount,
    },
    ctx,
  );
  parentPort!.postMessage({ id: t.id, pages: out.pages });
});
