// `docswarm status --json` while work is queued: extract tasks wait because no agent serves extract;
// status reports the backlog per stage and priority, the agents by capability, the documents in
// progress and a warning; once extract agents join, the backlog drains and the warning goes.
import { jetstreamManager } from "@nats-io/jetstream";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { readSwarmStatus } from "../observability/index.ts";
import { SwarmStatus, validate } from "../schemas/index.ts";
import { connectNats, ensureTopology } from "../streams/index.ts";
import { runCliWithEnv as runCli } from "./support/cli.ts";
import { denseDoc } from "./support/pdf.ts";
import { startServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

test("status --json reports the backlog, agents and documents while work is queued", async (t) => {
  const server = await startServer(t);
  const nc = await connectNats({ servers: server.url, name: "status-test" });
  t.teardown(() => nc.close());
  await ensureTopology(nc);
  const coordinator = await Coordinator.start({ servers: server.url });
  t.teardown(() => coordinator.close());
  // Only split agents: the extract tasks they publish have nobody to take them.
  const splitters = await AgentHost.start({
    servers: server.url,
    agents: 1,
    stages: ["split"],
    hostId: "splitters",
  });
  t.teardown(() => splitters.close());
  const client = new DocswarmClient(nc);
  await client.submit((await denseDoc("queued-a", 10, { charsPerPage: 600 })).bytes, {
    docId: "queued-a",
    priority: "high",
  });
  await client.submit((await denseDoc("queued-b", 6, { charsPerPage: 600 })).bytes, { docId: "queued-b" });

  const jsm = await jetstreamManager(nc);
  // Split results reach the coordinator after their tasks are published; the agent reads idle again.
  await waitFor(
    async () => {
      const s = await readSwarmStatus(jsm);
      return (
        s.throughput.tasks.split === 2 &&
        s.documents.length === 2 &&
        s.agents.every((a) => a.status === "idle" && (a.heapUsedBytes ?? 0) > 0)
      );
    },
    { message: "both documents split" },
  );
  const res = await runCli(["status", "--json"], { NATS_URL: server.url });
  t.is(res.code, 0, res.stderr);
  const parsed = validate(SwarmStatus, JSON.parse(res.stdout));
  if (!parsed.ok) return t.fail(parsed.message);
  const s = parsed.value;

  const stage = (name: string, priority: string) =>
    s.stages.find((x) => x.stage === name && x.priority === priority)!;
  const docs = new Map(s.documents.map((d) => [d.docId, d]));
  t.is(
    stage("extract", "high").backlog,
    docs.get("queued-a")!.chunks,
    "every chunk of the high-priority doc waits",
  );
  t.is(stage("extract", "normal").backlog, docs.get("queued-b")!.chunks);
  t.is(stage("extract", "low").backlog, 0);
  t.is(stage("extract", "high").inFlight, 0);
  t.false(stage("extract", "high").atMaxAckPending);
  t.is(stage("split", "normal").backlog, 0);
  t.deepEqual(
    s.agents.map((a) => ({ host: a.hostId, stages: a.stages, status: a.status })),
    [{ host: "splitters", stages: ["split"], status: "idle" }],
  );
  t.true(s.agents[0]!.heartbeatAgeMs < 5000);
  t.true(s.agents[0]!.hostRssBytes > 0);
  // The agent thread's own heap: megabytes (zod, the NATS client, pdf.js), far below the process.
  const heap = s.agents[0]!.heapUsedBytes ?? 0;
  t.true(heap > 1_000_000 && heap < s.agents[0]!.hostRssBytes, `heap ${heap}`);
  t.deepEqual(s.agentsByStage, { split: { idle: 1 } });
  t.is(docs.get("queued-a")!.pagesDone, 0);
  t.is(docs.get("queued-a")!.pageCount, 10);
  t.is(docs.get("queued-a")!.status, "running");
  t.true(s.coordinator.consuming);
  t.is(s.throughput.tasks.split, 2);
  t.deepEqual(
    s.warnings.map((w) => [w.code, w.stage]),
    [["STAGE_WITHOUT_AGENTS", "extract"]],
  );

  // Readable output says the same.
  const text = await runCli(["status"], { NATS_URL: server.url });
  t.regex(text.stdout, /stage extract has \d+ task\(s\) waiting and no live agent/);
  t.regex(text.stdout, /queued-a\s+\S+\s+running\s+0\/10/);

  // Extract and merge agents join: the work drains and the warning goes.
  const workers = await AgentHost.start({
    servers: server.url,
    agents: 2,
    stages: ["extract", "merge"],
    hostId: "workers",
  });
  t.teardown(() => workers.close());
  await client.result("queued-a", { timeoutMs: 60_000 });
  await client.result("queued-b", { timeoutMs: 60_000 });
  const after = await waitFor(
    async () => {
      const r = await runCli(["status", "--json"], { NATS_URL: server.url });
      const v = JSON.parse(r.stdout) as SwarmStatus;
      // Registrations refresh every second, so an agent may still read busy for a moment.
      const idle = v.agents.every((a) => a.status === "idle");
      return (
        idle && v.documents.length === 0 && v.stages.every((x) => x.backlog === 0 && x.inFlight === 0) && v
      );
    },
    { message: "the swarm idle again" },
  );
  t.deepEqual(after.warnings, []);
  t.is(after.agents.length, 3);
  t.deepEqual(after.agentsByStage.extract, { idle: 2 });
  t.is(after.throughput.pages, 16);
  t.is(after.throughput.docsDone, 2);
});
