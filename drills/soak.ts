// npm run soak -- --minutes N | --documents N [--rate DOCS_PER_S] [--hosts H] [--agents A] [--sample-s S] [--json]
// A steady load for N minutes (or until N documents have finished) against separate processes
// (`docswarm coordinator`, `docswarm agent`) on an embedded nats-server. Samples each process's RSS
// and the storage of every stream, bucket and object store, and reports them over time with their
// slopes after warm-up (least squares over the samples after the first third of the run, at least
// two minutes, at most half), so a leak shows as a number: state that grows per document shows as
// bytes per document in a stream or bucket that is not meant to keep them (only the done stream
// keeps a result per document, for its retention).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { jetstreamManager } from "@nats-io/jetstream";
import { DocswarmClient } from "../client/index.ts";
import { EmbeddedNatsServer } from "../infra/index.ts";
import { readStorage } from "../observability/index.ts";
import { decodeJson, SwarmEvent } from "../schemas/index.ts";
import { connectNats, ensureTopology, listAgents, STREAMS, subjects } from "../streams/index.ts";
import { makeCorpus } from "../test/support/pdf.ts";
import { type RoleProcess, rssBytes, spawnRole, stopAll } from "../test/support/roles.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string" },
    documents: { type: "string" },
    rate: { type: "string", default: "4" },
    hosts: { type: "string", default: "1" },
    agents: { type: "string", default: "2" },
    "sample-s": { type: "string", default: "5" },
    json: { type: "boolean", default: false },
  },
});
const documents = values.documents === undefined ? undefined : Number(values.documents);
const rate = Number(values.rate);
// --documents N runs until N have finished (at most an hour); otherwise --minutes (default 5).
const minutes = Number(values.minutes ?? (documents === undefined ? 5 : 60));
const sampleMs = Number(values["sample-s"]) * 1000;
if (!(minutes > 0) || !(rate > 0) || !(sampleMs > 0) || (documents !== undefined && !(documents > 0)))
  throw new Error("--minutes, --documents, --rate and --sample-s must be > 0");

type Sample = {
  t: number;
  rss: Record<string, number>;
  /** Bytes stored per stream, bucket and object store. */
  storage: Record<string, number>;
  submitted: number;
  finished: number;
  backlog: number;
};

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The nats-server process under the embedded server's guard shell. */
function childPid(pid: number): number | undefined {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).map(Number);
    return kids.find((k) => k > 0);
  } catch {
    return undefined;
  }
}

const log = (l: string) => {
  if (!values.json) process.stderr.write(`${l}\n`);
};

const server = await EmbeddedNatsServer.start();
const processes: RoleProcess[] = [];
const nc = await connectNats({ servers: server.url, name: "docswarm-soak" });
try {
  await ensureTopology(nc);
  const coordinator = spawnRole("coordinator", server.url);
  processes.push(coordinator);
  await coordinator.ready;
  const hosts = Array.from({ length: Number(values.hosts) }, () => {
    const p = spawnRole("agent", server.url, ["--agents", values.agents]);
    processes.push(p);
    return p;
  });
  await Promise.all(hosts.map((h) => h.ready));
  const natsPid = server.pid !== undefined ? childPid(server.pid) : undefined;
  const watched: Array<[string, number]> = [
    ["coordinator", coordinator.pid],
    ...hosts.map((h, i): [string, number] => [`agent-host-${i + 1}`, h.pid]),
    ...(natsPid ? [["nats-server", natsPid] as [string, number]] : []),
  ];
  // Besides RSS, the JavaScript heaps of each host's agent threads (from their registrations), so
  // growth can be told apart: retained objects show in the heaps, allocator growth only in RSS.
  const hostIds = hosts.map((h) => String(h.logs.find((l) => l.msg === "agent host started")?.hostId));
  const heapSeries = hostIds.map((_id, i) => `agent-host-${i + 1} heaps`);
  const series = [...watched.map(([name]) => name), ...heapSeries];

  const corpus = await makeCorpus(20, { seed: 11, maxPages: 6, prefix: "soak" });
  let finished = 0;
  nc.subscribe(subjects.eventsAll, {
    callback: (_e, m) => {
      const e = decodeJson(SwarmEvent, m.data);
      if (e.ok && (e.value.type === "doc.done" || e.value.type === "doc.failed")) finished++;
    },
  });
  const client = new DocswarmClient(nc);
  const jsm = await jetstreamManager(nc);
  const start = Date.now();
  const end = start + minutes * 60_000;
  let submitted = 0;
  const samples: Sample[] = [];
  const sample = async () => {
    const rss: Record<string, number> = {};
    for (const [name, pid] of watched) rss[name] = Math.round((rssBytes(pid) ?? 0) / 1024 / 102.4) / 10;
    const agents = await listAgents(jsm).catch(() => []);
    hostIds.forEach((id, i) => {
      const bytes = agents.filter((a) => a.hostId === id).reduce((n, a) => n + (a.heapUsedBytes ?? 0), 0);
      rss[heapSeries[i]!] = Math.round(bytes / 1024 / 102.4) / 10;
    });
    const backlog = await jsm.consumers
      .info(STREAMS.submit, "split-normal")
      .then((c) => c.num_pending + c.num_ack_pending)
      .catch(() => -1);
    const storage: Record<string, number> = {};
    for (const i of (await readStorage(jsm).catch(() => undefined))?.items ?? []) storage[i.name] = i.bytes;
    samples.push({ t: Math.round((Date.now() - start) / 1000), rss, storage, submitted, finished, backlog });
    log(
      `${String(samples.at(-1)!.t).padStart(5)} s  ${Object.entries(rss)
        .map(([k, v]) => `${k} ${v} MB`)
        .join("  ")}  submitted ${submitted} finished ${finished} backlog ${backlog}`,
    );
  };
  const sampler = setInterval(() => void sample(), sampleMs);
  await sample();
  // Steady load: `rate` documents per second, each a new document id.
  const target = documents ?? Number.POSITIVE_INFINITY;
  while (Date.now() < end && finished < target) {
    const due = Math.min(target, Math.floor(((Date.now() - start) / 1000) * rate));
    while (submitted < due) {
      const d = corpus[submitted % corpus.length]!;
      await client.submit(d.bytes, { docId: `soak-${submitted}` });
      submitted++;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  clearInterval(sampler);
  await sample();

  const runS = samples.at(-1)?.t ?? 0;
  const warmupS = Math.min(Math.max(120, runS / 3), runS / 2);
  const warm = samples.filter((s) => s.t >= warmupS);
  const stores = Object.keys(samples[0]?.storage ?? {});
  const storageReport = Object.fromEntries(
    stores.map((name) => {
      const at = (s: Sample | undefined) => s?.storage[name] ?? 0;
      return [
        name,
        {
          firstBytes: at(samples[0]),
          lastBytes: at(samples.at(-1)),
          maxBytes: Math.max(...samples.map(at)),
          // Growth while documents flow: per minute, and per finished document.
          slopeKbPerMin: Math.round(slope(warm.map((s) => [s.t / 60, at(s) / 1024])) * 10) / 10,
          bytesPerDocument: Math.round(slope(warm.map((s) => [s.finished, at(s)]))),
        },
      ];
    }),
  );
  const report = {
    minutes: Math.round((runS / 60) * 10) / 10,
    documents: documents ?? null,
    rateDocsPerS: rate,
    submitted,
    finished,
    samples,
    slopeMbPerMin: Object.fromEntries(
      series.map((name) => [
        name,
        Math.round(slope(warm.map((s) => [s.t / 60, s.rss[name] ?? 0])) * 100) / 100,
      ]),
    ),
    rssMb: Object.fromEntries(
      series.map((name) => [
        name,
        {
          first: samples[0]?.rss[name] ?? 0,
          afterWarmup: warm[0]?.rss[name] ?? 0,
          last: samples.at(-1)?.rss[name] ?? 0,
          max: Math.max(...samples.map((s) => s.rss[name] ?? 0)),
        },
      ]),
    ),
    storage: storageReport,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    process.stdout.write(
      [
        "",
        `docswarm soak: ${report.minutes} min at ${rate} documents/s; ${submitted} submitted, ${finished} finished`,
        `RSS (and the agents' JavaScript heaps) after warm-up (from ${warm[0]?.t ?? 0} s), MB: first / last / max, and least-squares slope`,
        ...series.map((name) => {
          const r = report.rssMb[name]!;
          return `  ${name.padEnd(14)} ${r.afterWarmup} / ${r.last} / ${r.max}   slope ${report.slopeMbPerMin[name]} MB/min`;
        }),
        "",
        "Storage per stream, bucket and object store: first / last / max, and after warm-up its slope per minute and per finished document",
        ...stores.map((name) => {
          const r = storageReport[name]!;
          const kb = (n: number) => `${Math.round(n / 102.4) / 10} KB`;
          return `  ${name.padEnd(22)} ${kb(r.firstBytes)} / ${kb(r.lastBytes)} / ${kb(r.maxBytes)}   ${r.slopeKbPerMin} KB/min, ${r.bytesPerDocument} bytes/document`;
        }),
        "",
      ].join("\n"),
    );
  }
} finally {
  await stopAll(processes, 5000);
  await nc.close().catch(() => {});
  await server.close();
}
