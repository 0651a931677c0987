// merge: gathers the chunk results of a document in page order into its one final result.
import {
  decodeJson,
  ExtractOutput,
  type FinalResult,
  Job,
  MergeInput,
  MergeOutput,
  type PageText,
  TaskResult,
  validate,
} from "../../schemas/index.ts";
import { publishFinal, readSubject, STREAMS, subjects } from "../../streams/index.ts";
import { StageError } from "../errors.ts";
import type { AgentServices } from "../services.ts";
import { defineStage } from "../stage.ts";

async function chunkOutput(s: AgentServices, r: TaskResult): Promise<ExtractOutput> {
  let raw: unknown = r.output;
  if (r.outputObject) {
    const data = await s.documents.bytes(r.outputObject).catch(() => undefined);
    if (!data)
      throw new StageError("RESULT_MISSING", `chunk ${r.index} output object is missing`, {
        retryable: true,
      });
    raw = JSON.parse(new TextDecoder().decode(data));
  }
  const out = validate(ExtractOutput, raw);
  if (!out.ok) throw new StageError("SCHEMA_INVALID", `chunk ${r.index} output: ${out.message}`);
  return out.value;
}

export const mergeStage = defineStage({
  name: "merge",
  input: MergeInput,
  output: MergeOutput,
  async process(input, ctx) {
    const s = ctx.services;
    const { docId, runId } = ctx.task;
    const startedAt = Date.now();
    const entry = await s.state.jobs.get(docId);
    const job = entry?.value.length ? decodeJson(Job, entry.value) : undefined;
    if (!job?.ok) throw new StageError("RESULT_MISSING", `no job record for ${docId}`, { retryable: true });
    if (job.value.runId !== runId) {
      // The document was resubmitted for reprocessing meanwhile: the newer run writes the result.
      throw new StageError(
        "DEPENDENCY_FAILED",
        `run ${runId} of ${docId} was superseded by ${job.value.runId}`,
      );
    }

    // Latest good extract result per chunk of this run; duplicates from redeliveries collapse here.
    const byIndex = new Map<number, TaskResult>();
    for (const m of await readSubject(s.jsm, STREAMS.results, subjects.result(docId))) {
      const r = decodeJson(TaskResult, m.data);
      if (r.ok && r.value.runId === runId && r.value.stage === "extract" && r.value.status === "ok") {
        byIndex.set(r.value.index, r.value);
      }
    }
    const pages: PageText[] = [];
    for (let i = 0; i < input.chunks; i++) {
      const r = byIndex.get(i);
      if (!r)
        throw new StageError("RESULT_MISSING", `result of chunk ${i} of ${docId} is missing`, {
          retryable: true,
        });
      pages.push(...(await chunkOutput(s, r)).pages);
    }
    pages.sort((a, b) => a.page - b.page);
    if (pages.length !== input.pageCount || pages.some((p, i) => p.page !== i + 1)) {
      throw new StageError("RESULT_MISSING", `chunks of ${docId} do not cover pages 1..${input.pageCount}`);
    }
    const finishedAt = Date.now();
    const final: FinalResult = {
      v: 1,
      docId,
      status: "done",
      source: job.value.source,
      pageCount: input.pageCount,
      pages,
      meta: job.value.meta,
      timings: {
        submittedAt: job.value.submittedAt,
        finishedAt,
        totalMs: Math.max(0, finishedAt - job.value.submittedAt),
        stageMs: { ...job.value.stageMs, merge: finishedAt - startedAt },
      },
      chunks: input.chunks,
    };
    const { inline } = await publishFinal(s.js, final, runId, s.maxPayloadBytes);
    return { pageCount: input.pageCount, inline };
  },
});
