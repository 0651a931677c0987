// A worker thread that imports the modules it is given (and, for pdf.js, opens and reads a
// document), then waits: bench/memory-probe.ts measures what each costs per thread.
import { parentPort, workerData } from "node:worker_threads";

for (const m of workerData.modules) {
  const mod = await import(m);
  if (m.endsWith("pdf.worker.mjs")) globalThis.pdfjsWorker = mod;
}
if (workerData.document) {
  const pdfjs = await import("pdfjs-dist/legacy/build/pdf.mjs");
  const task = pdfjs.getDocument({
    data: new Uint8Array(workerData.document),
    disableFontFace: true,
    verbosity: 0,
  });
  const doc = await task.promise;
  for (let p = 1; p <= Math.min(doc.numPages, 16); p++) await (await doc.getPage(p)).getTextContent();
  globalThis.keep = doc;
}
parentPort.postMessage("ready");
setInterval(() => {}, 1 << 30);
