// PDFium's WebAssembly, compiled once per process and shared by every agent thread: a module sent
// to a worker keeps one copy of the compiled code, where each thread compiling the same bytes paid
// ~9 MB of RSS for its own (bench/memory-probe.ts's PDFium parts). Each thread still instantiates
// it (its own memory, its own PDFium state), so a crash or an abort in one thread stays there.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** A compiled WebAssembly.Module (the project's TypeScript libs carry no WebAssembly types). */
export type PdfiumModule = { readonly [Symbol.toStringTag]: string };
type WasmApi = {
  compile(bytes: ArrayBuffer): Promise<PdfiumModule>;
  Module: abstract new (...args: never[]) => PdfiumModule;
  Instance: new (module: PdfiumModule, imports: unknown) => { exports: unknown };
};
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: Promise<PdfiumModule | undefined> | undefined;

export const isPdfiumModule = (v: unknown): v is PdfiumModule => v instanceof wasm.Module;

/** An instance of `module` (Emscripten's instantiateWasm hook: the instance and the module it came from). */
export function instantiate(
  module: PdfiumModule,
  imports: unknown,
  done: (instance: unknown, module: PdfiumModule) => void,
): unknown {
  const instance = new wasm.Instance(module, imports);
  done(instance, module);
  return instance.exports;
}

/** The wasm file's bytes. */
export async function pdfiumWasm(): Promise<ArrayBuffer> {
  const wasm = await readFile(fileURLToPath(import.meta.resolve("@embedpdf/pdfium/pdfium.wasm")));
  return wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer;
}

/** The compiled module (once per process); undefined when it cannot be built here (threads then compile their own). */
export function compiledPdfium(): Promise<PdfiumModule | undefined> {
  compiled ??= pdfiumWasm()
    .then((bytes) => wasm.compile(bytes))
    .catch(() => undefined);
  return compiled;
}
