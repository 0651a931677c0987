// A worker thread that imports the modules it is given (and, for pdf.js, opens and reads a
// document), then waits: bench/memory-probe.ts measures what each costs per thread.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parentPort, workerData } from "node:worker_threads";

for (const m of workerData.modules) {
  const mod = await import(m);
  if (m.endsWith("pdf.worker.mjs")) globalThis.pdfjsWorker = mod;
}
if (workerData.document && !workerData.pdfium) {
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
if (workerData.pdfium) {
  // PDFium as the agents load it: compiled here, or instantiated from the process's compiled module.
  const { init } = await import("@embedpdf/pdfium");
  const module = workerData.pdfium === "own" ? undefined : workerData.pdfium;
  const m = await init(
    module
      ? {
          instantiateWasm: (imports, done) => {
            const instance = new WebAssembly.Instance(module, imports);
            done(instance, module);
            return instance.exports;
          },
        }
      : { wasmBinary: readFileSync(fileURLToPath(import.meta.resolve("@embedpdf/pdfium/pdfium.wasm"))) },
  );
  m.PDFiumExt_Init();
  if (workerData.document) {
    const bytes = new Uint8Array(workerData.document);
    const data = m.pdfium.wasmExports.malloc(bytes.length);
    m.pdfium.HEAPU8.set(bytes, data);
    const doc = m.FPDF_LoadMemDocument(data, bytes.length, "");
    for (let p = 0; p < Math.min(m.FPDF_GetPageCount(doc), 16); p++) {
      const page = m.FPDF_LoadPage(doc, p);
      const text = m.FPDFText_LoadPage(page);
      const n = m.FPDFText_CountChars(text);
      const buf = m.pdfium.wasmExports.malloc((n + 1) * 2);
      m.FPDFText_GetText(text, 0, n, buf);
      m.pdfium.wasmExports.free(buf);
      m.FPDFText_ClosePage(text);
      m.FPDF_ClosePage(page);
    }
    globalThis.keep = { doc, data };
  }
}
parentPort.postMessage("ready");
setInterval(() => {}, 1 << 30);
