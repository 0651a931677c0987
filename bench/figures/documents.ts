// Throughput on the realistic corpora (bench/corpora/: embedded fonts, forms, images, some CJK,
// manuals ≥ 200 pages), against a bare pool on the same cores: small documents (1-3 pages), long
// ones and a mix (90 % small by count). The bare pool is what a script with a process pool does: one
// whole file per task, the extract stage's own code with the agents' engine chain, no NATS. BullMQ
// (bench/bullmq-pool.ts) is the queue people compare with: one job per file, the same extraction,
// as many workers as agents. Each corpus runs bare, docswarm, BullMQ in turn, so every ratio
// compares neighbours in time; every page of docswarm's and BullMQ's results must equal the bare
// pool's. CPU per document comes from /proc (every thread of this process, plus nats-server or
// redis-server), which load disturbs least.
import { AgentHost } from "../../agents/index.ts";
import { Coordinator } from "../../coordinator/index.ts";
import { type PageText, ProcessingConfig } from "../../schemas/index.ts";
import { BarePool } from "../bare-pool.ts";
import { BullmqPool, redisVersion } from "../bullmq-pool.ts";
import { type BenchContext, type Figure, hostLog } from "../context.ts";
import { documentCorpora, type RealDoc } from "../corpora/index.ts";
import type { CorpusDoc } from "../corpus.ts";
import { CpuWindow, load, processCpuMs } from "../cpu.ts";
import { DocFloor } from "../doc-floor.ts";
import { DocswarmClient, FinalWatcher, runDocs } from "../pipeline-run.ts";
import { median, round } from "../stats.ts";

export type CorpusName = "small" | "long" | "mixed";

export type CorpusRun = {
  corpus: CorpusName;
  docs: number;
  pages: number;
  bareMs: number;
  docswarmMs: number;
  bullmqMs?: number;
  /** CPU ms per document: the bare process; docswarm's process (agents, host, coordinator, client) + nats-server. */
  bareCpuMsPerDoc: number;
  cpuMsPerDoc: number;
  /** BullMQ: this process (its worker threads, the producer) + redis-server. */
  bullmqCpuMsPerDoc?: number;
  /** docswarm's CPU ms per document by thread group, and nats-server's. */
  groupsMsPerDoc: Record<string, number>;
  bullmqGroupsMsPerDoc?: Record<string, number>;
  /** The broker floor (bench/doc-floor.ts; small documents only): CPU ms per document, this process + nats-server. */
  floorCpuMsPerDoc?: number;
  floorGroupsMsPerDoc?: Record<string, number>;
  /** The same floor with each submission carrying the document's name instead of its bytes. */
  floorNoBytesCpuMsPerDoc?: number;
  load: string;
};

export type DocumentsDetail = {
  agents: number;
  corpora: Record<CorpusName, { docs: number; pages: number; mb: number; kinds: Record<string, number> }>;
  bullmq: string;
  runs: CorpusRun[];
};

const groups = (g: Record<string, number>, docs: number) =>
  Object.fromEntries(
    Object.entries(g)
      .filter(([, ms]) => ms > 0)
      .map(([k, ms]) => [k, round(ms / docs)]),
  );

/** Pages of `got` that are missing or differ from the bare pool's text of the same page. */
function wrongPages(doc: CorpusDoc, got: PageText[] | undefined, reference: Map<string, PageText[]>): number {
  const ref = reference.get(doc.name) ?? [];
  if (!got) return doc.pages;
  let wrong = Math.max(0, doc.pages - got.length);
  got.forEach((p, i) => {
    if (p.page !== i + 1 || p.text !== ref[i]?.text) wrong++;
  });
  return wrong;
}

const pps = (pages: number, ms: number) => (pages / ms) * 1000;

/** Each final's size as JSON: the document floor's results are as large. */
const finalSizes = (arrivals: { final: unknown }[]) => arrivals.map((a) => JSON.stringify(a.final).length);

async function pair(
  ctx: BenchContext,
  name: CorpusName,
  corpus: CorpusDoc[],
  bare: BarePool,
  client: DocswarmClient,
  watcher: FinalWatcher,
  bullmq: BullmqPool | undefined,
  floor: DocFloor | undefined,
): Promise<CorpusRun> {
  const processing = ProcessingConfig.parse({});
  const pages = corpus.reduce((n, d) => n + d.pages, 0);
  const n = corpus.length;
  const l = load();
  const bw = new CpuWindow(ctx.nats.serverPid);
  const b = await bare.run(corpus, processing, { wholeFiles: true, pageLines: false });
  const bcpu = bw.end();
  if (b.wrongPages > 0) throw new Error(`bare pool: ${b.wrongPages} pages missing`);
  const dw = new CpuWindow(ctx.nats.serverPid);
  const r = await runDocs(client, watcher, corpus, {
    tag: name[0],
    check: (final, doc) => (final.status === "done" ? wrongPages(doc, final.pages, b.texts) : doc.pages),
  });
  const dcpu = dw.end();
  if (r.wrongPages > 0 || r.failed > 0)
    throw new Error(
      `docswarm: ${r.failed} documents failed, ${r.wrongPages} pages differ from the bare pool's`,
    );
  const serverMs = (dcpu.serverCores || 0) * dcpu.wallMs;
  const run: CorpusRun = {
    corpus: name,
    docs: n,
    pages,
    bareMs: b.ms,
    docswarmMs: r.ms,
    bareCpuMsPerDoc: (bcpu.processCores * bcpu.wallMs) / n,
    cpuMsPerDoc: (dcpu.processCores * dcpu.wallMs + serverMs) / n,
    groupsMsPerDoc: { ...groups(dcpu.groupsMs, n), "nats-server": round(serverMs / n) },
    load: l,
  };
  let others = "";
  if (bullmq) {
    const redis0 = processCpuMs(bullmq.redisPid ?? -1);
    const qw = new CpuWindow(undefined);
    const q = await bullmq.run(corpus);
    const qcpu = qw.end();
    const redisMs = processCpuMs(bullmq.redisPid ?? -1) - redis0;
    const wrong = corpus.reduce((s, d) => s + wrongPages(d, q.texts.get(d.name), b.texts), 0);
    if (q.failed > 0 || wrong > 0)
      throw new Error(`bullmq: ${q.failed} jobs failed, ${wrong} pages differ from the bare pool's`);
    run.bullmqMs = q.ms;
    run.bullmqCpuMsPerDoc = (qcpu.processCores * qcpu.wallMs + redisMs) / n;
    run.bullmqGroupsMsPerDoc = { ...groups(qcpu.groupsMs, n), "redis-server": round(redisMs / n) };
    others =
      `, BullMQ ${pps(pages, q.ms).toFixed(0)} pages/s (${((100 * b.ms) / q.ms).toFixed(1)} %, ` +
      `CPU ms/doc ${run.bullmqCpuMsPerDoc.toFixed(2)} ${JSON.stringify(run.bullmqGroupsMsPerDoc)})`;
  }
  if (floor) {
    const sizes = finalSizes(r.arrivals);
    const measure = async (bytes: boolean) => {
      const fw = new CpuWindow(ctx.nats.serverPid);
      const f = await floor.run(corpus, sizes, { bytes });
      const fcpu = fw.end();
      const serverMs = (fcpu.serverCores || 0) * fcpu.wallMs;
      return {
        docs: f.docs,
        msPerDoc: (fcpu.processCores * fcpu.wallMs + serverMs) / f.docs,
        groups: { ...groups(fcpu.groupsMs, f.docs), "nats-server": round(serverMs / f.docs) },
      };
    };
    const withBytes = await measure(true);
    const names = await measure(false);
    run.floorCpuMsPerDoc = withBytes.msPerDoc;
    run.floorGroupsMsPerDoc = withBytes.groups;
    run.floorNoBytesCpuMsPerDoc = names.msPerDoc;
    if (withBytes.docs < n)
      others += ` (${n - withBytes.docs} documents above the payload limit left out of the floor)`;
    others +=
      `, broker floor CPU ms/doc ${withBytes.msPerDoc.toFixed(2)} ${JSON.stringify(withBytes.groups)}, ` +
      `without the bytes ${names.msPerDoc.toFixed(2)} ${JSON.stringify(names.groups)}`;
  }
  ctx.log(
    `documents: ${name} (${n} docs, ${pages} pages): bare ${pps(pages, b.ms).toFixed(0)} pages/s ` +
      `${pps(n, b.ms).toFixed(1)} docs/s, docswarm ${pps(pages, r.ms).toFixed(0)} pages/s ${pps(n, r.ms).toFixed(1)} docs/s ` +
      `(${((100 * b.ms) / r.ms).toFixed(1)} %); CPU ms/doc bare ${run.bareCpuMsPerDoc.toFixed(2)}, docswarm ` +
      `${run.cpuMsPerDoc.toFixed(2)} ${JSON.stringify(run.groupsMsPerDoc)}${others}; load ${l}`,
  );
  return run;
}

/** BullMQ and Redis when both are here; otherwise why not (the row is skipped, the run goes on). */
async function startBullmq(ctx: BenchContext, threads: number): Promise<BullmqPool | string> {
  const redis = redisVersion();
  if (!redis) return "redis-server is not installed (Debian: apt-get install redis-server)";
  try {
    const pool = await BullmqPool.start(threads);
    ctx.log(`documents: BullMQ ${pool.version} on redis-server ${redis}, ${threads} worker threads`);
    return pool;
  } catch (err) {
    return `BullMQ could not start: ${(err as Error).message}`;
  }
}

function describe(docs: RealDoc[]) {
  const kinds: Record<string, number> = {};
  for (const d of docs) kinds[d.kind] = (kinds[d.kind] ?? 0) + 1;
  return {
    docs: docs.length,
    pages: docs.reduce((n, d) => n + d.pages, 0),
    mb: round(docs.reduce((n, d) => n + d.bytes.length, 0) / 1e6),
    kinds,
  };
}

export async function documentFigures(
  ctx: BenchContext,
): Promise<{ figures: Figure[]; details: DocumentsDetail }> {
  const p = ctx.profile.documents;
  const generating = performance.now();
  const { warm, ...corpora } = await documentCorpora(p);
  const described = {
    small: describe(corpora.small),
    long: describe(corpora.long),
    mixed: describe(corpora.mixed),
  };
  for (const [name, c] of Object.entries(described))
    ctx.log(
      `documents: ${name} corpus: ${c.docs} documents, ${c.pages} pages, ${c.mb} MB ${JSON.stringify(c.kinds)}`,
    );
  ctx.log(
    `documents: corpora read (or generated) in ${((performance.now() - generating) / 1000).toFixed(1)} s`,
  );
  const agents = ctx.cores;
  const coordinator = await Coordinator.start({ servers: ctx.nats.url });
  const stopCoordinator = ctx.cleanups.push(() => coordinator.close());
  const client = new DocswarmClient(ctx.nats.nc);
  const watcher = await FinalWatcher.start(ctx.nats.nc);
  const bare = new BarePool(agents);
  const stopBare = ctx.cleanups.push(() => bare.close());
  const host = await AgentHost.start({ servers: ctx.nats.url, agents, onLog: hostLog(ctx) });
  const stopHost = ctx.cleanups.push(() => host.close());
  const started = await startBullmq(ctx, agents);
  const bullmq = typeof started === "string" ? undefined : started;
  if (typeof started === "string") ctx.log(`documents: BullMQ reference skipped: ${started}`);
  const stopBullmq = ctx.cleanups.push(() => bullmq?.close());
  const floor = await DocFloor.start(ctx.nats.nc, ctx.nats.url, agents);
  const stopFloor = ctx.cleanups.push(() => floor.close());
  const runs: CorpusRun[] = [];
  try {
    await bare.run(warm, ProcessingConfig.parse({}), { wholeFiles: true, pageLines: false });
    const warmed = await runDocs(client, watcher, warm, { tag: "w", check: () => 0 });
    await bullmq?.run(warm);
    await floor.run(warm, finalSizes(warmed.arrivals));
    for (let rep = 0; rep < p.reps; rep++) {
      for (const name of ["small", "long", "mixed"] as const)
        runs.push(
          await pair(
            ctx,
            name,
            corpora[name],
            bare,
            client,
            watcher,
            bullmq,
            name === "small" ? floor : undefined,
          ),
        );
    }
  } finally {
    await stopFloor.run();
    await stopBullmq.run();
    await stopHost.run();
    await stopBare.run();
    watcher.close();
    await stopCoordinator.run();
  }
  const of = (name: CorpusName) => runs.filter((r) => r.corpus === name);
  const ratio = (rs: CorpusRun[]) => median(rs.map((r) => r.bareMs / r.docswarmMs));
  const bullRatio = (rs: CorpusRun[]) => median(rs.map((r) => r.bareMs / r.bullmqMs!));
  const figures: Figure[] = [];
  const labels: Record<CorpusName, string> = {
    small: "small documents (1-3 pages)",
    long: `long documents (≥ ${p.longPages} pages)`,
    mixed: "mixed (90 % small, 10 % long)",
  };
  const bareLabel = `bare pool, ${agents} threads, whole files`;
  for (const name of ["small", "long", "mixed"] as const) {
    const rs = of(name);
    const r0 = rs[0]!;
    const dsPages = median(rs.map((r) => pps(r.pages, r.docswarmMs)));
    const barePages = median(rs.map((r) => pps(r.pages, r.bareMs)));
    const bull = bullmq ? ` BullMQ in the same run: ${round(bullRatio(rs))} of the bare pool.` : "";
    const cpuNote =
      `CPU ms/doc docswarm ${round(median(rs.map((r) => r.cpuMsPerDoc)))}, bare ${round(median(rs.map((r) => r.bareCpuMsPerDoc)))}` +
      (bullmq ? `, BullMQ ${round(median(rs.map((r) => r.bullmqCpuMsPerDoc!)))}` : "");
    figures.push(
      {
        key: `${name}DocPagesPerSec`,
        figure: `pages/s, ${labels[name]}, ${agents} agents`,
        value: round(dsPages),
        unit: "pages/s",
        reference: { label: bareLabel, value: round(barePages), unit: "pages/s" },
        ratio: round(ratio(rs)),
        goal: { label: "≥ 0.90 of the bare pool", met: ratio(rs) >= 0.9 },
        seedBar: "0.80",
        note:
          `${r0.docs} documents, ${r0.pages} pages (bench/corpora/); ratio = median of ${rs.length} paired runs ` +
          `(the documents/s ratio is the same); ${cpuNote}.${bull}`,
      },
      {
        key: `${name}DocsPerSec`,
        figure: `documents/s, ${labels[name]}, ${agents} agents`,
        value: round(median(rs.map((r) => pps(r.docs, r.docswarmMs)))),
        unit: "docs/s",
        reference: {
          label: bareLabel,
          value: round(median(rs.map((r) => pps(r.docs, r.bareMs)))),
          unit: "docs/s",
        },
        ratio: round(ratio(rs)),
      },
    );
    if (bullmq)
      figures.push({
        key: `${name}BullmqPagesPerSec`,
        figure: `BullMQ ${bullmq.version} + Redis, ${labels[name]}, ${agents} workers, one job per file`,
        value: round(median(rs.map((r) => pps(r.pages, r.bullmqMs!)))),
        unit: "pages/s",
        reference: { label: bareLabel, value: round(barePages), unit: "pages/s" },
        ratio: round(bullRatio(rs)),
        note: `docswarm in the same run: ${round(ratio(rs))} of the bare pool; the file travels as base64 job data, page texts come back as the job's return value`,
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
  const floorCpu = median(sm.map((r) => r.floorCpuMsPerDoc!));
  // Throughput on the same busy cores goes as CPU per document: 0.90 of the bare pool's leaves a
  // ninth of its CPU for everything that is not extraction.
  const budget = bareCpu / 9;
  figures.push(
    {
      key: "floorCpuMsPerDoc",
      figure:
        "CPU per small document, broker floor: the same bytes and JetStream hops in plain nats.js, no extraction (this process + nats-server)",
      value: round(floorCpu),
      unit: "ms",
      reference: {
        label: "what 0.90 of the bare pool leaves beyond its CPU (a ninth of it)",
        value: round(budget),
        unit: "ms",
      },
      ratio: round(floorCpu / budget),
      note:
        `bench/doc-floor.ts: each document's bytes to a work-queue file stream with Nats-Msg-Id, pulled by one of ${agents} worker threads, ` +
        `a result of its docswarm final's size published to a file stream with Nats-Msg-Id, the submission acked, the result received on core NATS and decoded; ` +
        `median of ${sm.length} runs; the most a design with the bytes through a broker could reach on these cores, bare ÷ (bare + floor): ` +
        `${round(bareCpu / (bareCpu + floorCpu))}; by thread group (first run, ms/doc): ${JSON.stringify(sm[0]!.floorGroupsMsPerDoc)}`,
    },
    {
      key: "floorNoBytesCpuMsPerDoc",
      figure: "CPU per small document, broker floor without the bytes (each submission names its document)",
      value: round(median(sm.map((r) => r.floorNoBytesCpuMsPerDoc!))),
      unit: "ms",
      reference: {
        label: "what 0.90 of the bare pool leaves beyond its CPU",
        value: round(budget),
        unit: "ms",
      },
      ratio: round(median(sm.map((r) => r.floorNoBytesCpuMsPerDoc!)) / budget),
      note: "the same hops and results; what a design that passed references to shared files would still pay",
    },
    {
      key: "beyondFloorUsPerDoc",
      figure: "docswarm's CPU per small document beyond the bare pool's and the broker floor's",
      value: round((cpu - bareCpu - floorCpu) * 1000),
      unit: "µs",
    },
  );
  if (bullmq) {
    const bullCpu = median(sm.map((r) => r.bullmqCpuMsPerDoc!));
    figures.push({
      key: "bullmqCpuMsPerDoc",
      figure: "CPU per small document, BullMQ (every thread of the process + redis-server)",
      value: round(bullCpu),
      unit: "ms",
      reference: { label: "bare pool process", value: round(bareCpu), unit: "ms" },
      ratio: round(bullCpu / bareCpu),
      note: `by thread group (first run, ms/doc): ${JSON.stringify(sm[0]!.bullmqGroupsMsPerDoc)}`,
    });
  }
  return {
    figures,
    details: {
      agents,
      corpora: described,
      bullmq: bullmq ? bullmq.version : `skipped: ${started as string}`,
      runs,
    },
  };
}
