// Plans page-range chunks: enough chunks that every live agent gets several (so work balances even
// when pages differ in cost), none larger than chunkMaxPages. Given a cost per page (content-stream
// bytes), chunk boundaries fall at equal shares of the total cost instead of equal page counts, so
// a document with dense and sparse regions still finishes close to total work / agents.
import type { PageRange } from "../schemas/index.ts";

export type ChunkPlanOptions = {
  agents: number;
  chunkMaxPages: number;
  chunksPerAgent: number;
  costs?: number[];
};

function chunkCount(pageCount: number, opts: ChunkPlanOptions): number {
  const byAgents = Math.min(pageCount, Math.max(1, opts.agents) * opts.chunksPerAgent);
  return Math.max(Math.ceil(pageCount / opts.chunkMaxPages), byAgents);
}

function ranges(sizes: number[]): PageRange[] {
  let first = 1;
  return sizes.map((size, index) => {
    const r = { index, firstPage: first, lastPage: first + size - 1 };
    first += size;
    return r;
  });
}

function uniform(pageCount: number, count: number): number[] {
  const base = Math.floor(pageCount / count);
  const extra = pageCount % count;
  return Array.from({ length: count }, (_, i) => base + (i < extra ? 1 : 0));
}

/**
 * Page counts of chunks of about total / count cost each (a chunk closes before the page that
 * would take it further past the target than short of it), capped at maxPages pages: sparse
 * regions give fewer pages' worth of chunks and dense ones more, never one above the target by
 * more than one page.
 */
function byCost(costs: number[], count: number, maxPages: number): number[] {
  const mean = costs.reduce((a, b) => a + b, 0) / costs.length;
  // Every page has a fixed cost too (opening it, an empty text layer): blank pages are not free.
  const weights = costs.map((c) => c + Math.max(256, mean * 0.05));
  const target = weights.reduce((a, b) => a + b, 0) / count;
  const sizes: number[] = [];
  let acc = 0;
  let size = 0;
  for (const w of weights) {
    if (size > 0 && (acc + w / 2 > target || size >= maxPages)) {
      sizes.push(size);
      size = 0;
      acc = 0;
    }
    size++;
    acc += w;
  }
  sizes.push(size);
  return sizes;
}

export function planChunks(pageCount: number, opts: ChunkPlanOptions): PageRange[] {
  if (pageCount <= 0) return [];
  const count = chunkCount(pageCount, opts);
  const costs = opts.costs?.length === pageCount && opts.costs.every((c) => c >= 0) ? opts.costs : undefined;
  return ranges(costs ? byCost(costs, count, opts.chunkMaxPages) : uniform(pageCount, count));
}

/**
 * The plan of a document whose first `done` pages are extracted already (a whole document that
 * yielded to higher-priority work): they are chunk 0, and the rest is planned as planChunks would
 * plan a document of the remaining pages, numbered on from chunk 1.
 */
export function planChunksAfter(done: number, pageCount: number, opts: ChunkPlanOptions): PageRange[] {
  const rest = planChunks(pageCount - done, {
    ...opts,
    ...(opts.costs && { costs: opts.costs.slice(done) }),
  });
  return [
    { index: 0, firstPage: 1, lastPage: done },
    ...rest.map((c) => ({ index: c.index + 1, firstPage: c.firstPage + done, lastPage: c.lastPage + done })),
  ];
}
