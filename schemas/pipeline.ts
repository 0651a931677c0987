// Pipelines: the stages a document goes through. Between the built-in split/extract and merge, a
// pipeline may insert user stages that run per chunk (map) or once per document (reduce).
import { z } from "zod";
import { DocId, StageName } from "./common.ts";
import { DocMeta, DocWarning, PageRange, PageText } from "./document.ts";
import type { Decoded } from "./validate.ts";

export const STAGE_SCOPES = ["chunk", "document"] as const;
export const StageScope = z.enum(STAGE_SCOPES);
export type StageScope = z.infer<typeof StageScope>;

export const PipelineStep = z.object({ stage: StageName, scope: StageScope }).meta({ id: "PipelineStep" });
export type PipelineStep = z.infer<typeof PipelineStep>;

/** The built-in stages, in their pipeline order: the default pipeline. */
export const BUILTIN_STAGES = ["split", "extract", "merge"] as const;
const BUILTIN = new Set<string>(BUILTIN_STAGES);

export const Pipeline = z
  .array(PipelineStep)
  .min(3)
  .superRefine((steps, ctx) => {
    const names = steps.map((s) => s.stage);
    if (names[0] !== "split" || names[1] !== "extract" || names[names.length - 1] !== "merge") {
      ctx.addIssue({ code: "custom", message: "a pipeline starts with split,extract and ends with merge" });
    }
    if (new Set(names).size !== names.length)
      ctx.addIssue({ code: "custom", message: "a stage appears twice" });
    const middle = steps.slice(2, -1);
    if (middle.some((s) => BUILTIN.has(s.stage))) {
      ctx.addIssue({ code: "custom", message: "split, extract and merge appear only in their own places" });
    }
    const firstDoc = middle.findIndex((s) => s.scope === "document");
    if (firstDoc >= 0 && middle.slice(firstDoc).some((s) => s.scope === "chunk")) {
      ctx.addIssue({ code: "custom", message: "per-chunk stages come before per-document stages" });
    }
  })
  .meta({ id: "Pipeline" });
export type Pipeline = z.infer<typeof Pipeline>;

export const DEFAULT_PIPELINE_TEXT = BUILTIN_STAGES.join(",");

/**
 * Parses "split,extract,keywords,summary:document,merge": user stages are per chunk unless marked
 * `:document`; the built-ins have fixed scopes.
 */
export function parsePipeline(text: string): Decoded<Pipeline> {
  const steps = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((token) => {
      const [stage = "", scope] = token.split(":");
      const builtinScope = stage === "merge" || stage === "split" ? "document" : "chunk";
      return { stage, scope: scope ?? (BUILTIN.has(stage) ? builtinScope : "chunk") };
    });
  const r = Pipeline.safeParse(steps);
  return r.success ? { ok: true, value: r.data } : { ok: false, message: z.prettifyError(r.error) };
}

export function formatPipeline(p: Pipeline): string {
  return p
    .map((s) => (s.scope === "document" && !BUILTIN.has(s.stage) ? `${s.stage}:document` : s.stage))
    .join(",");
}

/** Input of a per-chunk user stage: the chunk's pages and what earlier per-chunk stages produced. */
export const ChunkStageInput = z
  .object({
    docId: DocId,
    range: PageRange,
    pages: z.array(PageText),
    previous: z.record(z.string(), z.unknown()),
  })
  .meta({ id: "ChunkStageInput" });
export type ChunkStageInput = z.infer<typeof ChunkStageInput>;

/** Input of a per-document user stage: all pages, and earlier stages' outputs (per-chunk ones as arrays in chunk order). */
export const DocumentStageInput = z
  .object({
    docId: DocId,
    pageCount: z.number().int().nonnegative(),
    meta: DocMeta.nullable(),
    pages: z.array(PageText),
    stages: z.record(z.string(), z.unknown()),
    /** The chunks' warnings, as extracted (merged per code into the final result's). */
    warnings: z.array(DocWarning).optional(),
  })
  .meta({ id: "DocumentStageInput" });
export type DocumentStageInput = z.infer<typeof DocumentStageInput>;
