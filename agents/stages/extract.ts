// extract: text and statistics for every page of one chunk (agents/pdf/extract-pages.ts).
import { ExtractInput, ExtractOutput } from "../../schemas/index.ts";
import { StageError } from "../errors.ts";
import { extractPages } from "../pdf/extract-pages.ts";
import { defineStage } from "../stage.ts";

export const extractStage = defineStage({
  name: "extract",
  input: ExtractInput,
  output: ExtractOutput,
  async process(input, ctx) {
    const { documents } = ctx.services;
    return documents.use(
      input.object,
      ctx.task.runId,
      async (doc) => {
        if (doc.pageCount !== input.pageCount) {
          throw new StageError(
            "PDF_CORRUPT",
            `the document has ${doc.pageCount} pages, the plan expected ${input.pageCount}`,
          );
        }
        return extractPages(doc, input.range, ctx.signal);
      },
      undefined,
      input.reading,
    );
  },
});
