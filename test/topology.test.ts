// The JetStream topology: idempotent creation, bounded streams, one durable pull consumer per stage
// and priority shared by every agent serving that stage.
import type { ConsumerConfig, JetStreamManager, StreamConfig, StreamInfo } from "@nats-io/jetstream";
import { jetstreamManager } from "@nats-io/jetstream";
import test from "ava";
import { TaskResult } from "../schemas/index.ts";
import { ensureTopology, listAgents } from "../streams/index.ts";
import { assertDone } from "./support/assert.ts";
import { knownDoc } from "./support/pdf.ts";
import { connectTo, startServer, startSwarm } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

type Snapshot = {
  streams: Record<string, { config: StreamConfig; created: string }>;
  consumers: Record<string, { config: ConsumerConfig; created: string }>;
};

async function snapshot(jsm: JetStreamManager): Promise<Snapshot> {
  const streams: Snapshot["streams"] = {};
  const consumers: Snapshot["consumers"] = {};
  const infos: StreamInfo[] = [];
  for await (const si of jsm.streams.list()) infos.push(si);
  for (const si of infos) {
    streams[si.config.name] = { config: si.config, created: si.created };
    for await (const ci of jsm.consumers.list(si.config.name))
      consumers[`${si.config.name}/${ci.name}`] = { config: ci.config, created: ci.created };
  }
  return { streams, consumers };
}

const STREAM_NAMES = [
  "DOCSWARM_ADVISORIES",
  "DOCSWARM_DLQ",
  "DOCSWARM_DONE",
  "DOCSWARM_EVENTS",
  "DOCSWARM_RESULTS",
  "DOCSWARM_SUBMIT",
  "DOCSWARM_TASKS",
  "KV_docswarm-agents",
  "KV_docswarm-jobs",
  "KV_docswarm-leases",
  "KV_docswarm-pipelines",
  "KV_docswarm-scale",
  "OBJ_docswarm-docs",
  "OBJ_docswarm-results",
];

const PRIORITIES = ["high", "normal", "low"] as const;

test("ensureTopology twice is idempotent: no error, same configs, nothing recreated", async (t) => {
  const server = await startServer(t);
  const nc = await connectTo(t, server.url);
  const jsm = await jetstreamManager(nc);
  await ensureTopology(nc);
  const first = await snapshot(jsm);
  t.deepEqual(Object.keys(first.streams).sort(), STREAM_NAMES);
  await t.notThrowsAsync(ensureTopology(nc));
  const second = await snapshot(jsm);
  t.deepEqual(second, first);
  // A third process with the same config (a second connection) changes nothing either.
  const other = await connectTo(t, server.url, "second-process");
  await ensureTopology(other);
  t.deepEqual(await snapshot(jsm), first);
});

test("every stream is bounded: max_bytes, max_age or max_msgs is set", async (t) => {
  const server = await startServer(t);
  const nc = await connectTo(t, server.url);
  await ensureTopology(nc);
  const { streams } = await snapshot(await jetstreamManager(nc));
  t.is(Object.keys(streams).length, STREAM_NAMES.length);
  for (const [name, { config }] of Object.entries(streams)) {
    const limited = config.max_bytes > 0 || config.max_age > 0 || config.max_msgs > 0;
    t.true(
      limited,
      `${name}: max_bytes ${config.max_bytes}, max_age ${config.max_age}, max_msgs ${config.max_msgs}`,
    );
  }
  // Both object stores age out their objects; large final results (docswarm-results) as late as the
  // done messages that point at them.
  t.true(streams["OBJ_docswarm-docs"]!.config.max_age > 0);
  const doneAge = streams.DOCSWARM_DONE!.config.max_age;
  t.true(doneAge > 0);
  t.true(streams["OBJ_docswarm-results"]!.config.max_age >= doneAge, "results outlive their done messages");
});

test("one durable pull consumer per stage and priority, split reading submissions", async (t) => {
  const server = await startServer(t);
  const nc = await connectTo(t, server.url);
  await ensureTopology(nc);
  const { consumers } = await snapshot(await jetstreamManager(nc));
  const expected: Record<string, string[]> = {
    "DOCSWARM_SUBMIT/split-high": ["docswarm.submit.high"],
    "DOCSWARM_SUBMIT/split-normal": ["docswarm.submit.normal"],
    "DOCSWARM_SUBMIT/split-triage": ["docswarm.submit"],
    "DOCSWARM_SUBMIT/split-low": ["docswarm.submit.low"],
  };
  for (const stage of ["extract", "merge"]) {
    for (const p of PRIORITIES) expected[`DOCSWARM_TASKS/${stage}-${p}`] = [`docswarm.task.${stage}.${p}`];
  }
  const stageConsumers = Object.keys(consumers).filter(
    (k) =>
      !k.startsWith("DOCSWARM_RESULTS/") &&
      !k.startsWith("DOCSWARM_ADVISORIES/") &&
      !k.startsWith("DOCSWARM_DONE/") &&
      k !== "DOCSWARM_SUBMIT/jobs",
  );
  t.deepEqual(stageConsumers.sort(), Object.keys(expected).sort());
  for (const [key, filters] of Object.entries(expected)) {
    const c = consumers[key]!.config;
    const name = key.split("/")[1]!;
    t.is(c.durable_name, name, `${key} is durable`);
    t.is(c.deliver_subject, undefined, `${key} is a pull consumer`);
    t.is(c.ack_policy, "explicit", key);
    t.true((c.max_deliver ?? -1) > 0, `${key}: max_deliver is bounded`);
    t.true((c.max_ack_pending ?? -1) > 0, `${key}: max_ack_pending is set`);
    t.deepEqual([...(c.filter_subjects ?? [c.filter_subject!])].sort(), [...filters].sort(), key);
  }
  // The coordinator follows results with its own durable consumer, and DAG job submissions with another.
  t.deepEqual(consumers["DOCSWARM_RESULTS/coordinator"]?.config.durable_name, "coordinator");
  t.deepEqual(consumers["DOCSWARM_SUBMIT/jobs"]?.config.filter_subject, "docswarm.jobs.submit");
});

test("three agents on one host share the extract-normal consumer", async (t) => {
  const swarm = await startSwarm(t, {
    agents: 3,
    processing: { chunkMaxPages: 4, busyWholeDocumentMaxPages: 0 },
  });
  const doc = await knownDoc("topo-shared", 36);
  // Results are purged once the document is done: watch them as they are published.
  const extractResults: TaskResult[] = [];
  const sub = swarm.nc.subscribe(`docswarm.result.${doc.docId}.>`, {
    callback: (_err, m) => {
      const r = TaskResult.safeParse(m.json());
      if (r.success && r.data.stage === "extract") extractResults.push(r.data);
    },
  });
  await swarm.nc.flush();
  await swarm.client.submit(doc.bytes, { docId: doc.docId });
  const r = assertDone(t, await swarm.client.result(doc.docId, { timeoutMs: 60_000 }), doc);
  sub.unsubscribe();
  t.true(r.chunks >= 9, `${r.chunks} chunks`);

  // Three registered agents on one host, all serving extract.
  const agents = await waitFor(
    async () => {
      const all = (await listAgents(swarm.jsm)).filter((a) => a.hostId === swarm.host.hostId);
      return all.length === 3 && all.every((a) => a.stages.includes("extract")) ? all : undefined;
    },
    { timeoutMs: 30_000, message: "3 registered agents serving extract" },
  );
  t.deepEqual(agents.map((a) => a.agentId).sort(), swarm.host.agentIds().sort());

  // Every chunk was extracted by one of them.
  t.deepEqual(
    [...new Set(extractResults.map((e) => e.index))].sort((a, b) => a - b),
    Array.from({ length: r.chunks }, (_, i) => i),
  );
  for (const e of extractResults) t.true(swarm.host.agentIds().includes(e.agentId), e.agentId);
  t.log(
    "extract chunks per agent:",
    Object.fromEntries(
      swarm.host.agentIds().map((id) => [id, extractResults.filter((e) => e.agentId === id).length]),
    ),
  );

  // No per-agent consumers: still exactly one per stage and priority on the tasks stream.
  const names: string[] = [];
  for await (const ci of swarm.jsm.consumers.list("DOCSWARM_TASKS")) names.push(ci.name);
  t.deepEqual(names.sort(), [
    "extract-high",
    "extract-low",
    "extract-normal",
    "merge-high",
    "merge-low",
    "merge-normal",
  ]);
  // That one durable delivered every chunk, all acked, and the three agents wait on it.
  const info = await waitFor(
    async () => {
      const ci = await swarm.jsm.consumers.info("DOCSWARM_TASKS", "extract-normal");
      return ci.num_ack_pending === 0 && ci.num_pending === 0 ? ci : undefined;
    },
    { timeoutMs: 30_000, message: "extract-normal to have no pending or unacked tasks" },
  );
  t.true(info.delivered.consumer_seq >= r.chunks, `delivered ${info.delivered.consumer_seq}`);
  t.true(info.ack_floor.consumer_seq >= r.chunks, `ack floor ${info.ack_floor.consumer_seq}`);
  await waitFor(
    async () => (await swarm.jsm.consumers.info("DOCSWARM_TASKS", "extract-normal")).num_waiting >= 3,
    { timeoutMs: 30_000, message: "pull requests from all 3 agents waiting on extract-normal" },
  );
  t.pass();
});
