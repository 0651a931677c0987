// A bare pool thread: bench/bare-extract.ts on the page ranges it is handed, with no NATS anywhere.
import { parentPort, workerData } from "node:worker_threads";
import type { EngineName } from "../schemas/index.ts";
import { extractor } from "./bare-extract.ts";

export type BareTask = {
  id: number;
  /** The pool's run number: chunks of a document share its opened copy within a run, never across runs. */
  run: number;
  name: string;
  /** The document's bytes, shared with the main thread (no copy per task). */
  bytes: SharedArrayBuffer;
  firstPage: number;
  lastPage: number;
  pageCount: number;
};

const extract = extractor((workerData as { engine?: EngineName } | undefined)?.engine);

parentPort!.on("message", async (t: BareTask) => {
  const pages = await extract({
    key: `${t.name}@${t.run}`,
    bytes: new Uint8Array(t.bytes),
    firstPage: t.firstPage,
    lastPage: t.lastPage,
    pageCount: t.pageCount,
  });
  parentPort!.postMessage({ id: t.id, pages });
});
