// Plans page-range chunks: enough chunks that every live agent gets several (so work balances even
// when pages differ in cost), none larger than chunkMaxPages.
import type { PageRange } from "../schemas/index.ts";

export type ChunkPlanOptions = { agents: number; chunkMaxPages: number; chunksPerAgent: number };

export function planChunks(pageCount: number, opts: ChunkPlanOptions): PageRange[] {
  if (pageCount <= 0) return [];
  const byAgents = Math.min(pageCount, Math.max(1, opts.agents) * opts.chunksPerAgent);
  const count = Math.max(Math.ceil(pageCount / opts.chunkMaxPages), byAgents);
  const chunks: PageRange[] = [];
  // Spread the remainder so chunk sizes differ by at most one page.
  const base = Math.floor(pageCount / count);
  const extra = pageCount % count;
  let first = 1;
  for (let index = 0; index < count; index++) {
    const size = base + (index < extra ? 1 : 0);
    chunks.push({ index, firstPage: first, lastPage: first + size - 1 });
    first += size;
  }
  return chunks;
}
