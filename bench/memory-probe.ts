// What one more thread costs, part by part: RSS added per worker thread that loads nothing, zod,
// the NATS client packages, pdf.js, or pdf.js after reading a document, PDFium compiled per thread
// or shared as the agents share it (agents/pdf/pdfium-module.ts). Each part is measured in
// a fresh process (freed memory would otherwise be reused unseen). These are per-isolate costs:
// V8 shares no code or heap between threads, which puts a floor under the memory figure.
import { fork } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import { compiledPdfium } from "../agents/pdf/pdfium-module.ts";

const probe = new URL("./memory-probe-worker.mjs", import.meta.url);
const NATS = ["@nats-io/transport-node", "@nats-io/jetstream", "@nats-io/kv", "@nats-io/obj"];
const PDFJS = ["pdfjs-dist/legacy/build/pdf.worker.mjs", "pdfjs-dist/legacy/build/pdf.mjs"];

export type ProbePart = { part: string; mbPerThread: number };
/** `pdfium`: PDFium compiled in the thread ("own") or instantiated from the process's module ("shared"). */
type Part = { part: string; modules: string[]; withDocument: boolean; pdfium?: "own" | "shared" };

const PARTS: Part[] = [
  { part: "worker thread, nothing loaded", modules: [], withDocument: false },
  { part: "worker thread + zod", modules: ["zod"], withDocument: false },
  { part: "worker thread + NATS client packages", modules: NATS, withDocument: false },
  { part: "worker thread + pdf.js (legacy build)", modules: PDFJS, withDocument: false },
  { part: "worker thread + pdf.js after reading 16 pages", modules: PDFJS, withDocument: true },
  { part: "worker thread + PDFium compiled in the thread", modules: [], withDocument: false, pdfium: "own" },
  {
    part: "worker thread + PDFium compiled in the thread, after reading 16 pages",
    modules: [],
    withDocument: true,
    pdfium: "own",
  },
  {
    part: "worker thread + PDFium from the process's compiled module (the agents' way), after reading 16 pages",
    modules: [],
    withDocument: true,
    pdfium: "shared",
  },
];

/** In the child: starts `threads` probe workers and reports RSS added per thread. */
async function measure(part: Part, threads: number, document: Uint8Array): Promise<number> {
  const pdfium = part.pdfium === "shared" ? await compiledPdfium() : part.pdfium;
  if (part.pdfium === "shared") {
    // The module's one copy of code is the process's, not the threads': one thread holds it first.
    const first = new Worker(probe, { workerData: { modules: [], pdfium } });
    await new Promise((resolve) => first.once("message", resolve));
  }
  await sleep(200);
  const before = process.memoryUsage.rss();
  const workers: Worker[] = [];
  for (let i = 0; i < threads; i++) {
    const w = new Worker(probe, {
      workerData: { modules: part.modules, document: part.withDocument ? document : undefined, pdfium },
    });
    workers.push(w);
    await new Promise((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
  }
  await sleep(500);
  const mb = (process.memoryUsage.rss() - before) / threads / 1024 / 1024;
  await Promise.all(workers.map((w) => w.terminate()));
  return mb;
}

export async function memoryProbe(document: Uint8Array, threads = 4): Promise<ProbePart[]> {
  const out: ProbePart[] = [];
  for (let i = 0; i < PARTS.length; i++) {
    const child = fork(new URL(import.meta.url), [String(i), String(threads)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
    });
    const mb = await new Promise<number>((resolve, reject) => {
      child.once("message", (m) => resolve(m as number));
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`memory probe exited with code ${code}`)));
      child.send(document);
    }).finally(() => child.kill());
    out.push({ part: PARTS[i]!.part, mbPerThread: mb });
  }
  return out;
}

if (import.meta.main && process.send) {
  const part = PARTS[Number(process.argv[2])]!;
  const threads = Number(process.argv[3]);
  process.once("message", async (doc: Uint8Array) => {
    process.send!(await measure(part, threads, doc));
  });
  process.on("disconnect", () => process.exit(0));
}
