// extract: text and statistics for every page of one chunk, with pdf.js.
import { ExtractInput, ExtractOutput, type PageText } from "../../schemas/index.ts";
import { StageError } from "../errors.ts";
import { defineStage } from "../stage.ts";
import { countWords } from "../text-stats.ts";

export const extractStage = defineStage({
  name: "extract",
  input: ExtractInput,
  output: ExtractOutput,
  async process(input, ctx) {
    return ctx.services.documents.use(input.object, ctx.task.runId, async (doc) => {
      if (doc.pageCount !== input.pageCount) {
        throw new StageError(
          "PDF_CORRUPT",
          `the document has ${doc.pageCount} pages, the plan expected ${input.pageCount}`,
        );
      }
      const pages: PageText[] = [];
      for (let page = input.range.firstPage; page <= input.range.lastPage; page++) {
        if (ctx.signal.aborted) throw new StageError("TASK_TIMEOUT", "cancelled", { retryable: true });
        const text = await doc.pageText(page);
        pages.push({ page, text, chars: text.length, words: countWords(text) });
      }
      return { pages };
    });
  },
});
