// Makespan of one long, uneven document against the ideal (total work / agents), with chunks cut by
// page cost (adaptive) and by equal page counts, in the same run. Two ideals: the agents' own
// extract time summed (how evenly the chunks spread the work the agents did), and one warm pass of
// the same extraction over every page in this process (also charges per-chunk costs: opening the
// document on a second agent, publishing each chunk's result, two busy threads on shared cores).
//   node bench/chunking.ts [--pages 160] [--agents 2] [--runs 3] [--chunks-per-agent 3]
//                          [--chunk-max-pages 16] [--json]
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { pdfjsEngine } from "../agents/index.ts";
import { Swarm } from "../swarm/index.ts";
import { denseLines, rng } from "../test/support/pdf.ts";

const { values } = parseArgs({
  options: {
    pages: { type: "string", default: "160" },
    agents: { type: "string", default: String(availableParallelism()) },
    runs: { type: "string", default: "3" },
    "chunks-per-agent": { type: "string", default: "3" },
    "chunk-max-pages": { type: "string", default: "16" },
    json: { type: "boolean", default: false },
  },
});
const pages = Number(values.pages);
const agents = Number(values.agents);
const runs = Number(values.runs);
const chunking = {
  chunksPerAgent: Number(values["chunks-per-agent"]),
  chunkMaxPages: Number(values["chunk-max-pages"]),
};

/** Dense pages in two clusters (first fifth, and a band in the middle), nearly empty pages elsewhere. */
async function unevenDoc(seed: number): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const random = rng(seed);
  for (let i = 0; i < pages; i++) {
    const dense = i < pages / 5 || (i > pages / 2 && i < pages / 2 + pages / 10);
    const page = doc.addPage([612, 792]);
    const lines = [`Page ${i + 1} seed ${seed}`, ...denseLines(random, dense ? 3300 : 60)];
    lines.forEach((l, j) => {
      page.drawText(l, { x: 36, y: 760 - j * 9, size: 7, font });
    });
  }
  return doc.save();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

type Run = {
  makespanMs: number;
  /** Sum of the extract handlers' times ÷ agents: perfect balance of the work the agents did. */
  balancedMs: number;
  /** One warm in-process pass over every page ÷ agents: no per-chunk or coordination cost at all. */
  idealMs: number;
  chunks: number;
};

/** Extraction of every page, in order, in one pass: the work the agents share. */
async function totalWorkMs(bytes: Uint8Array): Promise<number> {
  const started = performance.now();
  const doc = await pdfjsEngine.open(bytes);
  for (let p = 1; p <= doc.pageCount; p++) await doc.pageText(p);
  await doc.close();
  return performance.now() - started;
}

async function measure(adaptive: boolean, seed: number): Promise<Run> {
  const swarm = await Swarm.initialize({ agents, processing: { adaptiveChunks: adaptive, ...chunking } });
  try {
    // Warm every agent's pdf.js so the first chunks do not pay its load.
    const warm = await unevenDoc(seed + 1000);
    await swarm.result((await swarm.submit(warm)).docId);
    const bytes = await unevenDoc(seed);
    const r = await swarm.result((await swarm.submit(bytes)).docId);
    // Measured after the run, while the agents are idle, so it competes with nothing; the best of
    // three passes, so this thread's pdf.js is as warm as the agents' are.
    const work = Math.min(await totalWorkMs(bytes), await totalWorkMs(bytes), await totalWorkMs(bytes));
    const makespan = r.timings.totalMs - (r.timings.stageMs.split ?? 0) - (r.timings.stageMs.merge ?? 0);
    return {
      makespanMs: makespan,
      balancedMs: (r.timings.stageMs.extract ?? 0) / agents,
      idealMs: work / agents,
      chunks: r.chunks,
    };
  } finally {
    await swarm.shutdown();
  }
}

const results: Record<"adaptive" | "equalPages", Run[]> = { adaptive: [], equalPages: [] };
for (let i = 0; i < runs; i++) {
  results.adaptive.push(await measure(true, 17 + i));
  results.equalPages.push(await measure(false, 17 + i));
}
const summary = Object.fromEntries(
  Object.entries(results).map(([k, rs]) => [
    k,
    {
      chunks: median(rs.map((r) => r.chunks)),
      makespanMs: median(rs.map((r) => r.makespanMs)),
      balancedMs: median(rs.map((r) => r.balancedMs)),
      makespanOverBalanced: median(rs.map((r) => r.makespanMs / r.balancedMs)),
      idealMs: median(rs.map((r) => r.idealMs)),
      makespanOverIdeal: median(rs.map((r) => r.makespanMs / r.idealMs)),
    },
  ]),
);
if (values.json) {
  process.stdout.write(`${JSON.stringify({ pages, agents, runs, ...chunking, ...summary })}\n`);
} else {
  process.stdout.write(
    `one ${pages}-page uneven document, ${agents} agents, ${chunking.chunksPerAgent} chunks per agent ` +
      `(at most ${chunking.chunkMaxPages} pages), median of ${runs} runs\n`,
  );
  process.stdout.write(
    "| chunking | chunks | makespan ms | agents' work / agents ms | makespan ÷ that | one-pass work / agents ms | makespan ÷ that |\n" +
      "|---|---|---|---|---|---|---|\n",
  );
  for (const [k, s] of Object.entries(summary)) {
    process.stdout.write(
      `| ${k} | ${s.chunks} | ${s.makespanMs.toFixed(0)} | ${s.balancedMs.toFixed(0)} | ` +
        `${s.makespanOverBalanced.toFixed(2)} | ${s.idealMs.toFixed(0)} | ${s.makespanOverIdeal.toFixed(2)} |\n`,
    );
  }
}
