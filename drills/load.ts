// npm run load -- [--mode tasks|docs] [--count N] [--hosts H] [--agents A] [--slots S] [--json]
// Queues everything at once, then lets separate processes (`docswarm coordinator`, `docswarm agent`)
// work it off, sampling backlog and each process's RSS every second. Memory is bounded when the RSS
// peak does not follow the backlog: the report gives RSS idle, at the start (everything queued),
// the peak, and at the end, next to the backlog.
//   tasks: N no-op tasks (default 100,000) on a `noop` stage: the coordination machinery alone.
//   docs:  N one-page PDFs (default 10,000) through split → extract → merge.
import { parseArgs } from "node:util";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { DocswarmClient } from "../client/index.ts";
import { EmbeddedNatsServer } from "../infra/index.ts";
import { connectNats, ensureStage, ensureTopology, STREAMS } from "../streams/index.ts";
import { denseDoc } from "../test/support/pdf.ts";
import { type RoleProcess, rssBytes, spawnRole, stopAll } from "../test/support/roles.ts";
import { queueNoopTasks } from "../test/support/tasks.ts";

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "tasks" },
    count: { type: "string" },
    hosts: { type: "string", default: "1" },
    agents: { type: "string", default: "2" },
    slots: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const mode = values.mode === "docs" ? "docs" : "tasks";
const count = Number(values.count ?? (mode === "docs" ? 10_000 : 100_000));
const slots = Number(values.slots ?? (mode === "docs" ? 1 : 32));
const NOOP = new URL("./stages/noop.ts", import.meta.url).pathname;
const log = (l: string) => {
  if (!values.json) process.stderr.write(`${l}\n`);
};
const mb = (b: number | undefined) => Math.round((b ?? 0) / 1024 / 102.4) / 10;

const server = await EmbeddedNatsServer.start();
const processes: RoleProcess[] = [];
const nc = await connectNats({ servers: server.url, name: "docswarm-load" });
try {
  await ensureTopology(nc, { submitMaxMsgs: Math.max(100_000, count + 1000) });
  if (mode === "tasks") await ensureStage(nc, "noop");
  const coordinator = spawnRole("coordinator", server.url);
  processes.push(coordinator);
  await coordinator.ready;

  // Queue everything first; agent hosts start once it is all there.
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const t0 = Date.now();
  if (mode === "tasks") {
    await queueNoopTasks(js, count, { docs: 1000, window: 2000 });
  } else {
    const doc = await denseDoc("load", 1, { seed: 1, charsPerPage: 400 });
    const client = new DocswarmClient(nc);
    for (let i = 0; i < count; i++)
      await client.submit(doc.bytes, { docId: `load-${i}`, fullRetryMs: 600_000 });
  }
  const queuedMs = Date.now() - t0;
  log(`queued ${count} ${mode} in ${queuedMs} ms; starting agent hosts`);
  const hostArgs = ["--agents", values.agents, "--slots", String(slots)];
  if (mode === "tasks") hostArgs.push("--stages", NOOP);
  const hosts = Array.from({ length: Number(values.hosts) }, () => spawnRole("agent", server.url, hostArgs));
  processes.push(...hosts);
  await Promise.all(hosts.map((p) => p.ready));
  const watched: Array<[string, number]> = [
    ["coordinator", coordinator.pid],
    ...hosts.map((h, i): [string, number] => [`agent-host-${i + 1}`, h.pid]),
  ];
  const rss = () => Object.fromEntries(watched.map(([n, pid]) => [n, mb(rssBytes(pid))]));
  const idle = rss();
  const t1 = Date.now();

  const progress = async () => {
    if (mode === "tasks") {
      const ci = await jsm.consumers.info(STREAMS.tasks, "noop-normal");
      const results = (await jsm.streams.info(STREAMS.results)).state.messages;
      return { backlog: ci.num_pending, inFlight: ci.num_ack_pending, finished: results };
    }
    const ci = await Promise.all(
      [
        [STREAMS.submit, "split-normal"],
        [STREAMS.tasks, "extract-normal"],
        [STREAMS.tasks, "merge-normal"],
      ].map(([s, c]) => jsm.consumers.info(s!, c!)),
    );
    const done = (await jsm.streams.info(STREAMS.done)).state.messages;
    return {
      backlog: ci.reduce((n, c) => n + c.num_pending, 0),
      inFlight: ci.reduce((n, c) => n + c.num_ack_pending, 0),
      finished: done,
    };
  };
  const samples: Array<{
    t: number;
    backlog: number;
    inFlight: number;
    finished: number;
    rss: Record<string, number>;
  }> = [];
  for (;;) {
    const p = await progress();
    samples.push({ t: Math.round((Date.now() - t1) / 100) / 10, ...p, rss: rss() });
    const s = samples.at(-1)!;
    log(
      `${String(s.t).padStart(6)} s  backlog ${String(s.backlog).padStart(6)}  in flight ${String(s.inFlight).padStart(4)}  finished ${String(s.finished).padStart(6)}  ${Object.entries(
        s.rss,
      )
        .map(([k, v]) => `${k} ${v} MB`)
        .join("  ")}`,
    );
    if (p.finished >= count) break;
    if (Date.now() - t1 > 30 * 60_000) throw new Error("load run did not finish within 30 minutes");
    await new Promise((r) => setTimeout(r, 1000));
  }
  const elapsedMs = Date.now() - t1;
  const peakBacklog = samples.reduce((a, s) => (s.backlog > a.backlog ? s : a), samples[0]!);
  const report = {
    mode,
    count,
    hosts: Number(values.hosts),
    agentsPerHost: Number(values.agents),
    slots,
    queuedMs,
    elapsedMs,
    perSecond: Math.round((count / elapsedMs) * 1000),
    maxInFlight: Math.max(...samples.map((s) => s.inFlight)),
    rssMb: Object.fromEntries(
      watched.map(([n]) => [
        n,
        {
          idle: idle[n],
          atPeakBacklog: peakBacklog.rss[n],
          peak: Math.max(...samples.map((s) => s.rss[n] ?? 0)),
          end: samples.at(-1)!.rss[n],
        },
      ]),
    ),
    peakBacklog: peakBacklog.backlog,
  };
  if (values.json) process.stdout.write(`${JSON.stringify({ ...report, samples })}\n`);
  else {
    process.stdout.write(
      [
        "",
        `docswarm load: ${count} ${mode} queued at once (${queuedMs} ms to queue), done in ${(elapsedMs / 1000).toFixed(1)} s (${report.perSecond}/s)`,
        `backlog peak ${report.peakBacklog}; in flight at most ${report.maxInFlight} (${report.hosts} host × ${report.agentsPerHost} agents × ${slots} slots)`,
        "RSS, MB: started (everything queued) / with the backlog at its peak / peak / end",
        ...watched.map(([n]) => {
          const r = report.rssMb[n]!;
          return `  ${n.padEnd(14)} ${r.idle} / ${r.atPeakBacklog} / ${r.peak} / ${r.end}`;
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
