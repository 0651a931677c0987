// A BullMQ reference thread: one BullMQ Worker (concurrency 1) running bench/bare-extract.ts on
// whole files, the way a BullMQ user runs CPU-bound jobs on several cores (one worker per thread).
import { parentPort, workerData } from "node:worker_threads";
import { Worker } from "bullmq";
import type { PageText } from "../schemas/index.ts";
import { extractor } from "./bare-extract.ts";

export type BullmqJob = {
  name: string;
  pages: number /** the file, base64 (job data is JSON) */;
  b64: string;
};

const { port, queue } = workerData as { port: number; queue: string };
const extract = extractor();
const worker = new Worker<BullmqJob, PageText[]>(
  queue,
  async (job) =>
    extract({
      key: `${job.data.name}#${job.id}`,
      bytes: Buffer.from(job.data.b64, "base64"),
      firstPage: 1,
      lastPage: job.data.pages,
      pageCount: job.data.pages,
    }),
  { connection: { host: "127.0.0.1", port, maxRetriesPerRequest: null }, concurrency: 1 },
);
worker.on("error", (err) => parentPort!.postMessage({ error: String(err) }));
await worker.waitUntilReady();
parentPort!.postMessage({ ready: true });
parentPort!.on("message", async (m: { close?: boolean }) => {
  if (!m.close) return;
  await worker.close();
  parentPort!.postMessage({ closed: true });
  parentPort!.close();
});
