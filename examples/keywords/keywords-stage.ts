// An example user stage: the most frequent meaningful words of each chunk of a document.
// Run it:  npm run docswarm -- process samples --stage examples/keywords/keywords-stage.ts \
//            --pipeline split,extract,keywords,merge
// Each result then carries `stages.keywords`: one entry per chunk, in chunk order.
import { z } from "zod";
import { defineStage } from "../../agents/index.ts";
import { ChunkStageInput } from "../../schemas/index.ts";

const STOPWORDS = new Set(
  (
    "a an and are as at be by for from has have in is it its of on or that the this to was were which " +
    "will with not but they their there these those than then also into over such can may per each"
  ).split(" "),
);

export const KeywordsOutput = z.object({
  firstPage: z.number().int(),
  lastPage: z.number().int(),
  keywords: z.array(z.object({ word: z.string(), count: z.number().int().positive() })),
});

/** The `limit` most frequent words of the text (ties broken alphabetically), stopwords left out. */
export function topKeywords(text: string, limit = 10): Array<{ word: string; count: number }> {
  const counts = new Map<string, number>();
  for (const w of text.toLowerCase().match(/\p{L}[\p{L}'-]{2,}/gu) ?? []) {
    if (!STOPWORDS.has(w)) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([word, count]) => ({ word, count }));
}

export default defineStage({
  name: "keywords",
  scope: "chunk",
  input: ChunkStageInput,
  output: KeywordsOutput,
  async process(input) {
    return {
      firstPage: input.range.firstPage,
      lastPage: input.range.lastPage,
      keywords: topKeywords(input.pages.map((p) => p.text).join("\n")),
    };
  },
});
