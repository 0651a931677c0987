// pages/s: the bare pool and docswarm, 1 thread / agent and one per core, measured in pairs
// (bare run, then docswarm run on the same corpus) so each ratio compares neighbours in time.
import { AgentHost } from "../../agents/index.ts";
import { Coordinator } from "../../coordinator/index.ts";
import { ProcessingConfig } from "../../schemas/index.ts";
import { BarePool } from "../bare-pool.ts";
import { type BenchContext, type Figure, hostLog } from "../context.ts";
import { type CorpusDoc, loadCorpus, pageCountsFor, totalPages } from "../corpus.ts";
import { CpuWindow, load } from "../cpu.ts";
import { DocswarmClient, FinalWatcher, runDocs } from "../pipeline-run.ts";
import { median, round } from "../stats.ts";

export type PagesDetail = {
  threads: number;
  bare: number[];
  docswarm: number[];
  ratios: number[];
  cpu: {
    agentUtilisation: number;
    bareUtilisation: number;
    processCores: number;
    serverCores: number;
    /** CPU ms per page: agent threads, bare threads, all of docswarm (this process + nats-server). */
    agentMsPerPage: number;
    bareMsPerPage: number;
    totalMsPerPage: number;
    bareTotalMsPerPage: number;
  }[];
  load: string[];
};

async function warmUp(ctx: BenchContext, threads: number): Promise<CorpusDoc[]> {
  return loadCorpus({
    pageCounts: [ctx.profile.pages.warmPages * Math.max(1, threads / 2)],
    seed: 7,
    charsPerPage: 3300,
  });
}

export async function pagesFigures(
  ctx: BenchContext,
): Promise<{ figures: Figure[]; details: PagesDetail[] }> {
  const p = ctx.profile.pages;
  const corpus = await loadCorpus({
    pageCounts: pageCountsFor(p.totalPages, p.docPages),
    seed: 1,
    charsPerPage: 3300,
  });
  const pages = totalPages(corpus);
  ctx.log(`pages: corpus of ${corpus.length} documents, ${pages} pages`);
  const processing = ProcessingConfig.parse({});
  const coordinator = await Coordinator.start({ servers: ctx.nats.url });
  const stopCoordinator = ctx.cleanups.push(() => coordinator.close());
  const client = new DocswarmClient(ctx.nats.nc);
  const watcher = await FinalWatcher.start(ctx.nats.nc);
  const details: PagesDetail[] = [];
  try {
    for (const threads of [...new Set([1, ctx.cores])]) {
      const d: PagesDetail = { threads, bare: [], docswarm: [], ratios: [], cpu: [], load: [] };
      const warm = await warmUp(ctx, threads);
      const bare = new BarePool(threads);
      const stopBare = ctx.cleanups.push(() => bare.close());
      const host = await AgentHost.start({ servers: ctx.nats.url, agents: threads, onLog: hostLog(ctx) });
      const stopHost = ctx.cleanups.push(() => host.close());
      try {
        await bare.run(warm, processing);
        await runDocs(client, watcher, warm, { tag: "w" });
        for (let rep = 0; rep < p.reps; rep++) {
          d.load.push(load());
          const bw = new CpuWindow(ctx.nats.serverPid);
          const b = await bare.run(corpus, processing);
          const bcpu = bw.end();
          if (b.wrongPages > 0) throw new Error(`bare pool: ${b.wrongPages} pages wrong`);
          const dw = new CpuWindow(ctx.nats.serverPid);
          const r = await runDocs(client, watcher, corpus, { tag: `p${threads}` });
          const dcpu = dw.end();
          if (r.wrongPages > 0 || r.failed > 0)
            throw new Error(`docswarm: ${r.failed} documents failed, ${r.wrongPages} pages wrong`);
          const bareRate = (b.pages / b.ms) * 1000;
          const dsRate = (r.pages / r.ms) * 1000;
          d.bare.push(bareRate);
          d.docswarm.push(dsRate);
          d.ratios.push(dsRate / bareRate);
          d.cpu.push({
            agentUtilisation: dcpu.agentCores / threads,
            bareUtilisation: bcpu.agentCores / threads,
            processCores: dcpu.processCores,
            serverCores: dcpu.serverCores,
            agentMsPerPage: (dcpu.agentCores * dcpu.wallMs) / r.pages,
            bareMsPerPage: (bcpu.agentCores * bcpu.wallMs) / b.pages,
            totalMsPerPage: ((dcpu.processCores + (dcpu.serverCores || 0)) * dcpu.wallMs) / r.pages,
            bareTotalMsPerPage: (bcpu.processCores * bcpu.wallMs) / b.pages,
          });
          const per = (g: Record<string, number>, n: number) =>
            Object.entries(g)
              .filter(([, ms]) => ms > 0)
              .map(([k, ms]) => `${k} ${(ms / n).toFixed(2)}`)
              .join(", ");
          ctx.log(
            `pages: CPU ms/page by thread: bare {${per(bcpu.groupsMs, b.pages)}} docswarm {${per(dcpu.groupsMs, r.pages)}, nats-server ${((dcpu.serverCores * dcpu.wallMs) / r.pages).toFixed(2)}}`,
          );
          ctx.log(
            `pages: ${threads} thread(s) rep ${rep + 1}: bare ${bareRate.toFixed(0)} pages/s, docswarm ${dsRate.toFixed(0)} pages/s (${(
              (100 * dsRate) / bareRate
            ).toFixed(1)} %); CPU ms/page: bare threads ${d.cpu.at(-1)!.bareMsPerPage.toFixed(2)}, agents ` +
              `${d.cpu.at(-1)!.agentMsPerPage.toFixed(2)}; whole bare process ${d.cpu.at(-1)!.bareTotalMsPerPage.toFixed(2)}, ` +
              `docswarm + nats-server ${d.cpu.at(-1)!.totalMsPerPage.toFixed(2)}; agents busy ` +
              `${(100 * dcpu.agentCores).toFixed(0)} % of ${threads} core(s), nats-server ${(100 * dcpu.serverCores).toFixed(0)} %, load ${load()}`,
          );
        }
      } finally {
        await stopHost.run();
        await stopBare.run();
      }
      details.push(d);
    }
  } finally {
    watcher.close();
    await stopCoordinator.run();
  }
  const one = details[0]!;
  const all = details[details.length - 1]!;
  const figures: Figure[] = [];
  for (const d of details) {
    figures.push({
      key: d.threads === 1 ? "pagesPerSec1" : "pagesPerSecN",
      figure: `pages/s, docswarm, ${d.threads} agent${d.threads > 1 ? "s" : ""}`,
      value: round(median(d.docswarm)),
      unit: "pages/s",
      reference: {
        label: `bare pool, ${d.threads} thread${d.threads > 1 ? "s" : ""}`,
        value: round(median(d.bare)),
        unit: "pages/s",
      },
      ratio: round(median(d.ratios)),
      goal: { label: "≥ 0.90 of the bare pool", met: median(d.ratios) >= 0.9 },
      seedBar: "0.80",
      note: `median of ${d.ratios.length} paired runs of ${pages} pages; ratio = median of per-pair ratios`,
    });
  }
  const cpu = all.cpu.map((c) => c.agentUtilisation);
  const bareCpu = all.cpu.map((c) => c.bareUtilisation);
  figures.push({
    key: "cpuUtilisation",
    figure: `CPU utilisation of the agents (${all.threads} agents, pages/s run)`,
    value: round(median(cpu)),
    unit: "of their cores",
    reference: { label: "bare pool threads", value: round(median(bareCpu)), unit: "of their cores" },
    ratio: round(median(cpu) / median(bareCpu)),
    note:
      `agent threads' CPU time ÷ (wall time × agents); meanwhile nats-server used ` +
      `${round(median(all.cpu.map((c) => c.serverCores)))} cores and the bench process (host, coordinator, ` +
      `client, agents) ${round(median(all.cpu.map((c) => c.processCores)))} cores`,
  });
  void one;
  return { figures, details };
}
