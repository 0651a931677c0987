// Throughput on document corpora, against a bare pool on the same cores: small documents (1-3
// pages), long ones (≥ 200 pages) and a mix (90 % small). The bare pool is what a script with a
// process pool does: one whole file per task, the extract stage's own code, no NATS. Each corpus
// runs bare then docswarm, alternating, so every ratio compares neighbours in time; CPU per
// document comes from /proc (this process's threads and nats-server), which load disturbs least.
import { AgentHost } from "../../agents/index.ts";
import { Coordinator } from "../../coordinator/index.ts";
import { ProcessingConfig } from "../../schemas/index.ts";
import { BarePool } from "../bare-pool.ts";
import { type BenchContext, type Figure, hostLog } from "../context.ts";
import type { CorpusDoc } from "../corpus.ts";
import { CpuWindow, load } from "../cpu.ts";
import { longDocs, mixed, smallDocs } from "../doc-corpus.ts";
import { DocswarmClient, FinalWatcher, runDocs } from "../pipeline-run.ts";
import { median, round } from "../stats.ts";

export type CorpusName = "small" | "long" | "mixed";

export type CorpusRun = {
  corpus: CorpusName;
  docs: number;
  pages: number;
  bareMs: number;
  docswarmMs: number;
  /** CPU ms per document: the bare process; docswarm's process (agents, host, coordinator, client) + nats-server. */
  bareCpuMsPerDoc: number;
  cpuMsPerDoc: number;
  /** docswarm's CPU ms per document by thread group, and nats-server's. */
  groupsMsPerDoc: Record<string, number>;
  load: string;
};

export type DocumentsDetail = { agents: number; runs: CorpusRun[] };

const groups = (g: Record<string, number>, docs: number) =>
  Object.fromEntries(
    Object.entries(g)
      .filter(([, ms]) => ms > 0)
      .map(([k, ms]) => [k, round(ms / docs)]),
  );

async function pair(
  ctx: BenchContext,
  name: CorpusName,
  corpus: CorpusDoc[],
  bare: BarePool,
  client: DocswarmClient,
  watcher: FinalWatcher,
): Promise<CorpusRun> {
  const processing = ProcessingConfig.parse({});
  const pages = corpus.reduce((n, d) => n + d.pages, 0);
  const l = load();
  const bw = new CpuWindow(ctx.nats.serverPid);
  const b = await bare.run(corpus, processing, { wholeFiles: true });
  const bcpu = bw.end();
  if (b.wrongPages > 0) throw new Error(`bare pool: ${b.wrongPages} pages wrong`);
  const dw = new CpuWindow(ctx.nats.serverPid);
  const r = await runDocs(client, watcher, corpus, { tag: name[0] });
  const dcpu = dw.end();
  if (r.wrongPages > 0 || r.failed > 0)
    throw new Error(`docswarm: ${r.failed} documents failed, ${r.wrongPages} pages wrong`);
  const serverMs = (dcpu.serverCores || 0) * dcpu.wallMs;
  const run: CorpusRun = {
    corpus: name,
    docs: corpus.length,
    pages,
    bareMs: b.ms,
    docswarmMs: r.ms,
    bareCpuMsPerDoc: (bcpu.processCores * bcpu.wallMs) / corpus.length,
    cpuMsPerDoc: (dcpu.processCores * dcpu.wallMs + serverMs) / corpus.length,
    groupsMsPerDoc: {
      ...groups(dcpu.groupsMs, corpus.length),
      "nats-server": round(serverMs / corpus.length),
    },
    load: l,
  };
  ctx.log(
    `documents: ${name} (${corpus.length} docs, ${pages} pages): bare ${((pages / b.ms) * 1000).toFixed(0)} pages/s, ` +
      `docswarm ${((pages / r.ms) * 1000).toFixed(0)} pages/s (${((100 * b.ms) / r.ms).toFixed(1)} %); CPU ms/doc ` +
      `bare ${run.bareCpuMsPerDoc.toFixed(2)}, docswarm ${run.cpuMsPerDoc.toFixed(2)} ` +
      `${JSON.stringify(run.groupsMsPerDoc)}; load ${l}`,
  );
  return run;
}

export async function documentFigures(
  ctx: BenchContext,
): Promise<{ figures: Figure[]; details: DocumentsDetail }> {
  const p = ctx.profile.documents;
  const small = await smallDocs(p.small, 1);
  const long = await longDocs(p.long, p.longPages, 31);
  const corpora: Record<CorpusName, CorpusDoc[]> = {
    small,
    long,
    mixed: mixed(await smallDocs(p.mixedSmall, 2), await longDocs(p.mixedLong, p.longPages, 32)),
  };
  for (const [name, c] of Object.entries(corpora))
    ctx.log(`documents: ${name} corpus: ${c.length} documents, ${c.reduce((n, d) => n + d.pages, 0)} pages`);
  const agents = ctx.cores;
  const coordinator = await Coordinator.start({ servers: ctx.nats.url });
  const stopCoordinator = ctx.cleanups.push(() => coordinator.close());
  const client = new DocswarmClient(ctx.nats.nc);
  const watcher = await FinalWatcher.start(ctx.nats.nc);
  const bare = new BarePool(agents);
  const stopBare = ctx.cleanups.push(() => bare.close());
  const host = await AgentHost.start({ servers: ctx.nats.url, agents, onLog: hostLog(ctx) });
  const stopHost = ctx.cleanups.push(() => host.close());
  const runs: CorpusRun[] = [];
  try {
    const warm = [...(await smallDocs(40, 9)), ...(await longDocs(1, 48, 9))];
    await bare.run(warm, ProcessingConfig.parse({}), { wholeFiles: true });
    await runDocs(client, watcher, warm, { tag: "w" });
    for (let rep = 0; rep < p.reps; rep++) {
      for (const name of ["small", "long", "mixed"] as const)
        runs.push(await pair(ctx, name, corpora[name], bare, client, watcher));
    }
  } finally {
    await stopHost.run();
    await stopBare.run();
    watcher.close();
    await stopCoordinator.run();
  }
  const of = (name: CorpusName) => runs.filter((r) => r.corpus === name);
  const ratio = (rs: CorpusRun[]) => median(rs.map((r) => r.bareMs / r.docswarmMs));
  const figures: Figure[] = [];
  const labels: Record<CorpusName, string> = {
    small: "small documents (1-3 pages)",
    long: `long documents (${p.longPages} pages)`,
    mixed: "mixed (90 % small, 10 % long)",
  };
  for (const name of ["small", "long", "mixed"] as const) {
    const rs = of(name);
    const r0 = rs[0]!;
    const dsPages = median(rs.map((r) => (r.pages / r.docswarmMs) * 1000));
    const barePages = median(rs.map((r) => (r.pages / r.bareMs) * 1000));
    figures.push({
      key: `${name}DocPagesPerSec`,
      figure: `pages/s, ${labels[name]}, ${agents} agents`,
      value: round(dsPages),
      unit: "pages/s",
      reference: {
        label: `bare pool, ${agents} threads, whole files`,
        value: round(barePages),
        unit: "pages/s",
      },
      ratio: round(ratio(rs)),
      goal: { label: "≥ 0.90 of the bare pool", met: ratio(rs) >= 0.9 },
      seedBar: "0.80",
      note:
        `${r0.docs} documents, ${r0.pages} pages; ${round((dsPages * r0.docs) / r0.pages)} docs/s vs ` +
        `${round((barePages * r0.docs) / r0.pages)}; ratio = median of ${rs.length} paired runs (docs/s ratio is the same)`,
    });
  }
  const sm = of("small");
  const cpu = median(sm.map((r) => r.cpuMsPerDoc));
  const bareCpu = median(sm.map((r) => r.bareCpuMsPerDoc));
  const parts = sm[0]!.groupsMsPerDoc;
  figures.push(
    {
      key: "cpuMsPerDoc",
      figure: "CPU per small document, docswarm (every thread of its process + nats-server)",
      value: round(cpu),
      unit: "ms",
      reference: { label: "bare pool process", value: round(bareCpu), unit: "ms" },
      ratio: round(cpu / bareCpu),
      goal: { label: "≤ 1.10 of the bare pool", met: cpu / bareCpu <= 1.1 },
      note: `from /proc, median of ${sm.length} runs; by thread group (first run, ms/doc): ${JSON.stringify(parts)}`,
    },
    {
      key: "bareCpuMsPerDoc",
      figure: "CPU per small document, bare pool",
      value: round(bareCpu),
      unit: "ms",
    },
    {
      key: "overheadUsPerDoc",
      figure: "docswarm's CPU per small document beyond the bare pool's",
      value: round((cpu - bareCpu) * 1000),
      unit: "µs",
    },
  );
  return { figures, details: { agents, runs } };
}
