// Tracing overhead, measured in one run: the same corpus is processed by fresh swarms (agents on
// every core) alternately with tracing off and on (OTLP/HTTP to a local sink that discards), and
// pages/s is compared. `node bench/tracing-overhead.ts [--docs 12] [--pages 40] [--rounds 3]`.
// Startup is outside the timed part: from the first submit to the last final result.
import { createServer } from "node:http";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { EmbeddedNatsServer } from "../infra/index.ts";
import { startTracing } from "../observability/index.ts";
import { densePages, makePdf } from "../scripts/pdf-gen.ts";
import { Swarm } from "../swarm/index.ts";

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

async function round(label: string, traced: boolean): Promise<number> {
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
    const ids = await Promise.all(
      corpus.map((bytes, i) => swarm.submit(bytes, { docId: `${label}-${i}` }).then((s) => s.docId)),
    );
    for (const id of ids) {
      const r = await swarm.result(id, { timeoutMs: 300_000 });
      if (r.status !== "done") throw new Error(`${id}: ${r.error?.code}`);
    }
    const seconds = (performance.now() - started) / 1000;
    return (docs * pagesPerDoc) / seconds;
  } finally {
    await swarm.shutdown();
    await tracing.shutdown();
  }
}

const results: { off: number[]; on: number[] } = { off: [], on: [] };
try {
  await round("warmup", false);
  for (let r = 0; r < rounds; r++) {
    // Alternate, so drift on a shared machine hits both sides alike.
    const order: boolean[] = r % 2 === 0 ? [false, true] : [true, false];
    for (const traced of order) {
      const rate = await round(`r${r}-${traced ? "on" : "off"}`, traced);
      (traced ? results.on : results.off).push(rate);
      if (!values.json)
        console.log(`round ${r + 1}  tracing ${traced ? "on " : "off"}  ${rate.toFixed(1)} pages/s`);
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
const off = median(results.off);
const on = median(results.on);
// Each round pairs an off and an on run back to back; their ratio is less exposed to load changes.
const pairRatios = results.on.map((v, i) => v / results.off[i]!);
const summary = {
  corpus: { docs, pagesPerDoc, pages: docs * pagesPerDoc },
  agents,
  rounds,
  pagesPerSecond: { off: Math.round(off * 10) / 10, on: Math.round(on * 10) / 10 },
  overheadPercent: Math.round(((off - on) / off) * 1000) / 10,
  /** Median over rounds of (1 - on/off) within a round. */
  pairedOverheadPercent: Math.round((1 - median(pairRatios)) * 1000) / 10,
  exported: sink,
};
if (values.json) console.log(JSON.stringify(summary));
else {
  console.log(
    `tracing off ${summary.pagesPerSecond.off} pages/s, on ${summary.pagesPerSecond.on} pages/s (median of ${rounds}); ` +
      `overhead ${summary.overheadPercent}% (paired per round: ${summary.pairedOverheadPercent}%); ${sink.requests} OTLP exports, ${(sink.bytes / 1024).toFixed(0)} KiB`,
  );
}
