// Adaptive chunking: chunk boundaries at equal shares of estimated page cost (content-stream
// size), so dense and sparse regions of one document give chunks of similar cost.
import test from "ava";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { planChunks, planChunksAfter } from "../agents/chunking.ts";
import { contentSizes } from "../agents/pdf/content-size.ts";
import { pdfjsEngine } from "../agents/pdf/pdfjs-engine.ts";
import type { PageRange } from "../schemas/index.ts";
import { densePages } from "./support/pdf.ts";

function chunkCosts(chunks: PageRange[], costs: number[]): number[] {
  return chunks.map((c) => costs.slice(c.firstPage - 1, c.lastPage).reduce((a, b) => a + b, 0));
}

/** The largest chunk's cost against an even share of the total over `count` chunks. */
function overTarget(xs: number[], count: number): number {
  return Math.max(...xs) / (xs.reduce((a, b) => a + b, 0) / count);
}

test("with page costs, chunks cover every page once and have similar cost", (t) => {
  // A quarter of the pages are dense, the rest nearly empty.
  const costs = Array.from({ length: 96 }, (_, i) => (i < 24 ? 20_000 : 300));
  const opts = { agents: 2, chunkMaxPages: 16, chunksPerAgent: 3 };
  const adaptive = planChunks(96, { ...opts, costs });
  const uniform = planChunks(96, opts);
  for (const plan of [adaptive, uniform]) {
    t.is(plan[0]!.firstPage, 1);
    t.is(plan.at(-1)!.lastPage, 96);
    plan.forEach((c, i) => {
      t.is(c.index, i);
      if (i > 0) t.is(c.firstPage, plan[i - 1]!.lastPage + 1);
      t.true(c.lastPage - c.firstPage + 1 <= 16);
    });
  }
  // The makespan is bounded by the costliest chunk: compare it with an even share over the
  // planned number of chunks (6 here: 2 agents × 3).
  const a = overTarget(chunkCosts(adaptive, costs), 6);
  const u = overTarget(chunkCosts(uniform, costs), 6);
  t.log(
    `costliest chunk / even share: adaptive ${a.toFixed(2)} (${adaptive.length} chunks), equal pages ${u.toFixed(2)}`,
  );
  t.true(a <= 1.25, `adaptive ${a}`);
  t.true(a < u);
});

test("without usable costs the plan is equal pages", (t) => {
  const plain = planChunks(10, { agents: 1, chunkMaxPages: 16, chunksPerAgent: 3 });
  t.deepEqual(planChunks(10, { agents: 1, chunkMaxPages: 16, chunksPerAgent: 3, costs: [1, 2] }), plain);
});

test("after pages done already, they are chunk 0 and the rest is planned on from page done + 1", (t) => {
  const opts = { agents: 2, chunkMaxPages: 48, chunksPerAgent: 3 };
  const plan = planChunksAfter(7, 100, opts);
  t.deepEqual(plan[0], { index: 0, firstPage: 1, lastPage: 7 });
  t.deepEqual(
    plan.slice(1).map((c) => c.lastPage - c.firstPage + 1),
    planChunks(93, opts).map((c) => c.lastPage - c.firstPage + 1),
  );
  plan.forEach((c, i) => {
    t.is(c.index, i);
    if (i > 0) t.is(c.firstPage, plan[i - 1]!.lastPage + 1);
  });
  t.is(plan.at(-1)!.lastPage, 100);
  // Costs are the whole document's: the rest is cut by the costs of its own pages.
  const costs = Array.from({ length: 100 }, (_, i) => (i < 50 ? 100 : 10_000));
  const byCost = planChunksAfter(7, 100, { ...opts, costs });
  t.deepEqual(
    byCost.slice(1).map((c) => c.lastPage - c.firstPage + 1),
    planChunks(93, { ...opts, costs: costs.slice(7) }).map((c) => c.lastPage - c.firstPage + 1),
  );
});

test("content-stream sizes per page, from direct objects and from object streams", async (t) => {
  for (const useObjectStreams of [false, true]) {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    densePages("cs", 4, 7, 3000).forEach((lines, i) => {
      const page = doc.addPage();
      const shown = i % 2 === 0 ? lines : lines.slice(0, 1);
      shown.forEach((l, j) => {
        page.drawText(l, { x: 40, y: 750 - j * 12, size: 9, font });
      });
    });
    const bytes = await doc.save({ useObjectStreams });
    const pdf = await pdfjsEngine.open(bytes);
    t.teardown(() => pdf.close());
    const costs = await pdf.pageCosts();
    t.truthy(costs, `object streams: ${useObjectStreams}`);
    t.is(costs!.length, 4);
    t.true(costs![0]! > 4 * costs![1]! && costs![2]! > 4 * costs![3]!, JSON.stringify(costs));
  }
  t.is(contentSizes(new TextEncoder().encode("%PDF-1.7\n%%EOF"), [5]), undefined);
});
