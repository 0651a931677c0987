// Which engine reads a document: the agent's preferred one (config `engine`, `--engine`), or the one
// its submission asks for (Docswarm-Engine), with the other as the fallback unless that is turned
// off. Engines load lazily, so an agent thread holds only the engines it has used.
import { DEFAULT_ENGINE, type EngineName } from "../../schemas/index.ts";
import type { OpenOptions, PdfDocument, PdfEngine } from "./engine.ts";
import { withFallback } from "./fallback.ts";
import { checkInflatedSize, DecodedSizes } from "./inflate-guard.ts";
import { pdfiumEngine } from "./pdfium-engine.ts";
import { pdfjsEngine } from "./pdfjs-engine.ts";

export const ENGINE_BY_NAME: Record<EngineName, PdfEngine> = { pdfium: pdfiumEngine, pdfjs: pdfjsEngine };

const other = (name: EngineName): EngineName => (name === "pdfium" ? "pdfjs" : "pdfium");

export type EngineChoice = {
  /** The engine used unless a document asks for another. */
  preferred?: EngineName;
  /** Let the other engine read what the chosen one cannot (default true). */
  fallback?: boolean;
  /** Cap on what a document decompresses to (agents/pdf/inflate-guard.ts); default 256 MiB. */
  maxInflatedBytes?: number;
};

/** An engine that opens each document with its chosen engine (and that engine's fallback). */
export function chooseEngine(choice: EngineChoice = {}): PdfEngine {
  const preferred = choice.preferred ?? DEFAULT_ENGINE;
  const fallback = choice.fallback ?? true;
  const maxInflated = choice.maxInflatedBytes ?? 256 * 1024 * 1024;
  // Per agent: the fonts of one producer, and a document's next chunk, are then counted once.
  const decoded = new DecodedSizes();
  const chains = new Map<EngineName, PdfEngine>();
  const chain = (name: EngineName) => {
    let e = chains.get(name);
    if (!e) {
      e = withFallback(ENGINE_BY_NAME[name], fallback ? ENGINE_BY_NAME[other(name)] : undefined);
      chains.set(name, e);
    }
    return e;
  };
  return {
    name: preferred,
    maxInflatedBytes: maxInflated,
    async open(bytes: Uint8Array, options: OpenOptions = {}): Promise<PdfDocument> {
      // Checked once per document and host: a long document's extract agents open the bytes its
      // split agent checked and shared (decoding a manual's streams again cost each ~15 ms and, in
      // GC of the buffers, as much again).
      if (options.inflateChecked === undefined || options.inflateChecked > maxInflated)
        checkInflatedSize(bytes, maxInflated, decoded);
      return chain(options.engine ?? preferred).open(bytes, options);
    },
  };
}
