// merge: gathers a document's chunk results in page order, with the outputs of any user stages of
// its pipeline, into its one final result.
import { endDocument } from "../../jobs/index.ts";
import { type FinalResult, MergeInput, MergeOutput } from "../../schemas/index.ts";
import { StageError } from "../errors.ts";
import { documentInput } from "../inputs.ts";
import { documentWarnings } from "../pdf/extract-pages.ts";
import { defineStage } from "../stage.ts";

export const mergeStage = defineStage({
  name: "merge",
  input: MergeInput,
  output: MergeOutput,
  async process(input, ctx) {
    const s = ctx.services;
    const { docId, runId } = ctx.task;
    const startedAt = Date.now();
    const { job, input: doc } = await documentInput(s, docId, runId);
    if (job.runId !== runId) {
      // The document was resubmitted for reprocessing meanwhile: the newer run writes the result.
      throw new StageError("DEPENDENCY_FAILED", `run ${runId} of ${docId} was superseded by ${job.runId}`);
    }
    const { pages, stages } = doc;
    const { warnings, error } = documentWarnings(pages, doc.warnings ?? []);
    if (pages.length !== input.pageCount || pages.some((p, i) => p.page !== i + 1)) {
      throw new StageError("RESULT_MISSING", `chunks of ${docId} do not cover pages 1..${input.pageCount}`, {
        retryable: true,
      });
    }
    const finishedAt = Date.now();
    const final: FinalResult = {
      v: 1,
      kind: "document",
      docId,
      status: error ? "failed" : "done",
      source: job.source,
      pageCount: input.pageCount,
      pages,
      meta: job.meta,
      warnings,
      timings: {
        submittedAt: job.submittedAt,
        finishedAt,
        totalMs: Math.max(0, finishedAt - job.submittedAt),
        stageMs: { ...job.stageMs, merge: finishedAt - startedAt },
      },
      chunks: input.chunks,
      ...(Object.keys(stages).length > 0 && { stages }),
      ...(error && { error }),
    };
    const { inline } = await endDocument(
      s.js,
      { kind: "document", final, runId },
      { maxPayloadBytes: s.maxPayloadBytes, maxResultBytes: s.topology.doneMaxResultBytes },
    );
    return { pageCount: input.pageCount, inline };
  },
});
