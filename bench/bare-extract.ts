// The extraction every reference runs (the bare pool's threads, BullMQ's workers): the extract
// stage's own code with the agents' engine choice through DocumentCache, reading from memory, no NATS.
import { chooseEngine, DocumentCache, extractStage, type StageContext } from "../agents/index.ts";
import type { EngineName, PageText } from "../schemas/index.ts";

export type ExtractTask = {
  /** Names an opened document in the cache: the same key for chunks of one document in one run. */
  key: string;
  bytes: Uint8Array;
  firstPage: number;
  lastPage: number;
  pageCount: number;
};

/** One thread's extractor; `engine` is the engine preferred (default: the agents' default chain). */
export function extractor(engine?: EngineName): (t: ExtractTask) => Promise<PageText[]> {
  const docs = new Map<string, Uint8Array>();
  const cache = new DocumentCache(
    chooseEngine({ preferred: engine }),
    async (_bucket, name) => docs.get(name) ?? null,
  );
  const signal = new AbortController().signal;
  const ctx = { signal, task: { runId: "bare" }, services: { documents: cache } } as unknown as StageContext;
  return async (t) => {
    docs.set(t.key, t.bytes);
    try {
      const out = await extractStage.process(
        {
          object: { bucket: "bare", name: t.key, size: t.bytes.byteLength },
          range: { index: 0, firstPage: t.firstPage, lastPage: t.lastPage },
          pageCount: t.pageCount,
        },
        ctx,
      );
      return out.pages;
    } finally {
      // Only the opened documents stay cached (capacity 2, as in an agent); the bytes map must not grow.
      if (docs.size > 8) docs.delete(docs.keys().next().value!);
    }
  };
}
