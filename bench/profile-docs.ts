// Where a document's CPU goes: runs one corpus through docswarm only (embedded nats-server, a
// coordinator and an agent host in this process, as `docswarm process` does) and prints CPU ms per
// document by thread group and for nats-server. Run it under `node --cpu-prof --cpu-prof-dir=DIR`
// for one profile per thread, then `node bench/profile-summary.ts DIR`.
//   node bench/profile-docs.ts [--corpus small|long|mixed] [--docs N] [--agents N] [--bare]
//     [--warm-passes N] [--marks] [--processing JSON]
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { AgentHost } from "../agents/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { ProcessingConfig } from "../schemas/index.ts";
import { BarePool } from "./bare-pool.ts";
import { documentCorpora } from "./corpora/index.ts";
import { CpuWindow, load } from "./cpu.ts";
import { Cleanups, startNats } from "./lifecycle.ts";
import { DocswarmClient, FinalWatcher, runDocs } from "./pipeline-run.ts";

const { values } = parseArgs({
  options: {
    corpus: { type: "string", default: "small" },
    docs: { type: "string", default: "500" },
    agents: { type: "string", default: String(availableParallelism()) },
    bare: { type: "boolean", default: false },
    // Prints the measured window in CLOCK_MONOTONIC seconds, to cut a `perf record -k mono` profile.
    marks: { type: "boolean", default: false },
    // Extra unmeasured passes over the corpus first: what a long-running swarm's JIT has settled.
    "warm-passes": { type: "string", default: "0" },
    // The agents' processing settings as JSON (e.g. '{"chunkMaxPages":48}'), to try a setting.
    processing: { type: "string" },
  },
});
const n = Number(values.docs);
const agents = Number(values.agents);
// The documents figure's corpora (bench/corpora/), sized from --docs: long has n/250 manuals.
const corpora = await documentCorpora({
  small: values.corpus === "small" ? n : 0,
  long: values.corpus === "long" ? Math.max(1, Math.round(n / 250)) : 0,
  longPages: 200,
  mixedSmall: values.corpus === "mixed" ? Math.round(n * 0.9) : 0,
  mixedLong: values.corpus === "mixed" ? Math.round(n * 0.1) : 0,
});
const corpus = corpora[values.corpus as "small" | "long" | "mixed"];
if (!corpus) throw new Error("--corpus: small, long or mixed");
const pages = corpus.reduce((s, d) => s + d.pages, 0);
const log = (line: string) => process.stderr.write(`${line}\n`);
const mark = (what: string) => {
  if (values.marks) log(`${what} ${(Number(process.hrtime.bigint()) / 1e9).toFixed(6)}`);
};
const cleanups = new Cleanups();
try {
  const nats = await startNats(cleanups);
  const report = (what: string, w: ReturnType<CpuWindow["end"]>, ms: number) => {
    const per = Object.entries(w.groupsMs)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${(v / corpus.length).toFixed(2)}`)
      .join(", ");
    const server = ((w.serverCores || 0) * w.wallMs) / corpus.length;
    const total = (w.processCores * w.wallMs) / corpus.length + server;
    log(
      `${what}: ${corpus.length} docs, ${pages} pages in ${ms.toFixed(0)} ms (${((pages / ms) * 1000).toFixed(0)} pages/s, ` +
        `${((corpus.length / ms) * 1000).toFixed(1)} docs/s); CPU ms/doc ${total.toFixed(2)}: ${per}, nats-server ${server.toFixed(2)}; load ${load()}`,
    );
  };
  if (values.bare) {
    const bare = new BarePool(agents);
    cleanups.push(() => bare.close());
    await bare.run(corpora.warm, ProcessingConfig.parse({}), { wholeFiles: true, pageLines: false });
    for (let i = 0; i < Number(values["warm-passes"]); i++)
      await bare.run(corpus, ProcessingConfig.parse({}), { wholeFiles: true, pageLines: false });
    const w = new CpuWindow(nats.serverPid);
    mark("window-start");
    const b = await bare.run(corpus, ProcessingConfig.parse({}), { wholeFiles: true, pageLines: false });
    mark("window-end");
    report("bare", w.end(), b.ms);
  } else {
    const coordinator = await Coordinator.start({ servers: nats.url });
    cleanups.push(() => coordinator.close());
    const processing = values.processing ? (JSON.parse(values.processing) as Partial<ProcessingConfig>) : {};
    const host = await AgentHost.start({ servers: nats.url, agents, processing });
    cleanups.push(() => host.close());
    const client = new DocswarmClient(nats.nc);
    const watcher = await FinalWatcher.start(nats.nc);
    cleanups.push(() => watcher.close());
    await runDocs(client, watcher, corpora.warm, { tag: "w", check: () => 0 });
    for (let i = 0; i < Number(values["warm-passes"]); i++)
      await runDocs(client, watcher, corpus, { tag: `w${i}`, check: () => 0 });
    const w = new CpuWindow(nats.serverPid);
    mark("window-start");
    // Every page present; bench/figures/documents.ts also compares the texts with the bare pool's.
    // Chunks per final: 1 for a document that was one task.
    const chunks: number[] = [];
    const r = await runDocs(client, watcher, corpus, {
      tag: "p",
      check: (final, doc) => {
        chunks.push(final.chunks);
        return final.status === "done" ? Math.max(0, doc.pages - final.pages.length) : doc.pages;
      },
    });
    mark("window-end");
    const cpu = w.end();
    if (r.failed > 0 || r.wrongPages > 0) throw new Error(`${r.failed} failed, ${r.wrongPages} pages wrong`);
    report("docswarm", cpu, r.ms);
    if (values.corpus !== "small") log(`chunks per document: ${chunks.join(" ")}`);
  }
} finally {
  await cleanups.run();
}
