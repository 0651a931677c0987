// Agents: the runtime in worker threads, the host that supervises them, and the built-in stages.
export type { AutoscaleOptions } from "./autoscale.ts";
export { builtinHandlers, loadHandler } from "./builtin.ts";
export { planChunks } from "./chunking.ts";
export { DocumentCache } from "./document-cache.ts";
export { StageError, StageLoadError, toErrorInfo } from "./errors.ts";
export { AgentHost, type AgentHostOptions } from "./host.ts";
export type { PdfDocument, PdfEngine } from "./pdf/engine.ts";
export { chooseEngine, ENGINE_BY_NAME } from "./pdf/engines.ts";
export { type ExtractedPages, extractPages, type PageSpan } from "./pdf/extract-pages.ts";
export { pdfiumEngine } from "./pdf/pdfium-engine.ts";
export { pdfjsEngine } from "./pdf/pdfjs-engine.ts";
export type { AgentServices } from "./services.ts";
export { defineStage, type StageContext, type StageDefinition, type TaskHandler } from "./stage.ts";
export { extractStage } from "./stages/extract.ts";
export { defineTask, type Task } from "./task.ts";
