// Tracing overhead, measured in one run: the same corpus is processed by fresh swarms (agents on
// every core) alternately with tracing off and on (OTLP/HTTP to a local sink that discards), and
// pages/s is compared. `node bench/tracing-overhead.ts [--docs 12] [--pages 40] [--rounds 3]`.
// Startup is outside the timed part: from the first submit to the last final result. Besides wall
// clock pages/s it reports this process's CPU time per page (main thread and every agent thread,
// from getrusage), which other load on a shared machine disturbs much less.
import { createServer } from "node:http";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { EmbeddedNatsServer } from "../infra/index.ts";
import { startTracing } from "../observability/index.ts";
import { Swarm } from "../swarm/index.ts";
import { densePages, makePdf } from "../test/support/pdf.ts";

const { values } = parseArgs({
  options: {
    docs: { type: "string", default: "12" },
    pages: { type: "string", default: "40" },
    rounds: { type: "string", default: "3" },
    agents: { type: "string", default: String(availableParallelism()) },
    json: { type: "boolean", default: false },
  },
});
const docs = Number(values.docs);
const pagesPerDoc = Number(values.pages);
const rounds = Number(values.rounds);
const agents = Number(values.agents);

// An OTLP/HTTP sink on loopback: accepts every export, keeps only counts.
const sink = { requests: 0, bytes: 0 };
const receiver = createServer((req, res) => {
  req.on("data", (c: Buffer) => {
    sink.bytes += c.length;
  });
  req.on("end", () => {
    sink.requests++;
    res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", () => resolve()));
const address = receiver.address();
const endpoint = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;

const corpus = await Promise.all(
  Array.from({ length: docs }, (_, i) =>
    makePdf({ title: `bench-${i}`, pages: densePages(`bench-${i}`, pagesPerDoc, i + 1) }),
  ),
);
const server = await EmbeddedNatsServer.start();

type Round = { pagesPerSecond: number; cpuMsPerPage: number };

async function round(label: string, traced: boolean): Promise<Round> {
  if (traced) {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint;
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = "http/protobuf";
  } else {
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  }
  const tracing = await startTracing({ serviceName: "docswarm-bench" });
  if (tracing.enabled !== traced) throw new Error(`tracing should be ${traced ? "on" : "off"}`);
  const swarm = await Swarm.initialize({ natsUrl: server.url, agents });
  try {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const ids = await Promise.all(
      corpus.map((bytes, i) => swarm.submit(bytes, { docId: `${label}-${i}` }).then((s) => s.docId)),
    );
    for (const id of ids) {
      const r = await swarm.result(id, { timeoutMs: 300_000 });
      if (r.status !== "done") throw new Error(`${id}: ${r.error?.code}`);
    }
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const pages = docs * pagesPerDoc;
    return { pagesPerSecond: pages / seconds, cpuMsPerPage: (used.user + used.system) / 1000 / pages };
  } finally {
    await swarm.shutdown();
    await tracing.shutdown();
  }
}

const results: { off: Round[]; on: Round[] } = { off: [], on: [] };
try {
  await round("warmup", false);
  for (let r = 0; r < rounds; r++) {
    // Alternate, so drift on a shared machine hits both sides alike.
    const order: boolean[] = r % 2 === 0 ? [false, true] : [true, false];
    for (const traced of order) {
      const res = await round(`r${r}-${traced ? "on" : "off"}`, traced);
      (traced ? results.on : results.off).push(res);
      if (!values.json) {
        console.log(
          `round ${r + 1}  tracing ${traced ? "on " : "off"}  ${res.pagesPerSecond.toFixed(1)} pages/s  ${res.cpuMsPerPage.toFixed(2)} CPU ms/page`,
        );
      }
    }
  }
} finally {
  await server.close();
  receiver.close();
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const off = median(results.off.map((r) => r.pagesPerSecond));
const on = median(results.on.map((r) => r.pagesPerSecond));
const cpuOff = median(results.off.map((r) => r.cpuMsPerPage));
const cpuOn = median(results.on.map((r) => r.cpuMsPerPage));
// Each round pairs an off and an on run back to back; their ratio is less exposed to load changes.
const pairRatios = results.on.map((v, i) => v.pagesPerSecond / results.off[i]!.pagesPerSecond);
const summary = {
  corpus: { docs, pagesPerDoc, pages: docs * pagesPerDoc },
  agents,
  rounds,
  pagesPerSecond: { off: Math.round(off * 10) / 10, on: Math.round(on * 10) / 10 },
  overheadPercent: Math.round(((off - on) / off) * 1000) / 10,
  /** Median over rounds of (1 - on/off) within a round. */
  pairedOverheadPercent: Math.round((1 - median(pairRatios)) * 1000) / 10,
  cpuMsPerPage: { off: Math.round(cpuOff * 100) / 100, on: Math.round(cpuOn * 100) / 100 },
  cpuOverheadPercent: Math.round(((cpuOn - cpuOff) / cpuOff) * 1000) / 10,
  exported: sink,
};
if (values.json) console.log(JSON.stringify(summary));
else {
  console.log(
    `tracing off ${summary.pagesPerSecond.off} pages/s, on ${summary.pagesPerSecond.on} pages/s (median of ${rounds}); ` +
      `overhead ${summary.overheadPercent}% (paired per round: ${summary.pairedOverheadPercent}%); ` +
      `CPU ${summary.cpuMsPerPage.off} vs ${summary.cpuMsPerPage.on} ms/page (${summary.cpuOverheadPercent}% more with tracing); ${sink.requests} OTLP exports, ${(sink.bytes / 1024).toFixed(0)} KiB`,
  );
}
