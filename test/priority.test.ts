// Priorities: agents take higher levels first (a high task behind a normal backlog starts next),
// and lower levels still get a share (weighted round robin across levels), so nothing starves.
// These tests check the order work ran in, never how long it took.
import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { headers } from "@nats-io/transport-node";
import test from "ava";
import { Job, type JobSpecInput } from "../schemas/index.ts";
import { knownDoc } from "./support/pdf.ts";
import { connectTo, stagePath, startSwarm, type TestSwarm } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

type Nap = { tag: string; startedAt: number };

function naps(prefix: string, n: number, ms = 15): JobSpecInput["tasks"] {
  return Array.from({ length: n }, (_, i) => ({
    key: `nap.${i}`,
    stage: "nap",
    input: { ms, tag: `${prefix}${i}` },
  }));
}

async function queued(swarm: TestSwarm, consumer: string, n: number): Promise<void> {
  await waitFor(async () => (await swarm.jsm.consumers.info("DOCSWARM_TASKS", consumer)).num_pending >= n, {
    timeoutMs: 30_000,
    message: `${n} tasks queued on ${consumer}`,
  });
}

async function outputs(swarm: TestSwarm, jobId: string): Promise<Nap[]> {
  const r = await swarm.client.jobResult(jobId, { timeoutMs: 120_000 });
  return Object.values(r.outputs) as Nap[];
}

test("a high-priority task queued behind a normal backlog is the next one to run", async (t) => {
  const swarm = await startSwarm(t, { agents: 0, stages: [stagePath("nap")] });
  await swarm.client.submitJob({ v: 1, jobId: "backlog", tasks: naps("n", 25) });
  await queued(swarm, "nap-normal", 25);
  await swarm.client.submitJob({ v: 1, jobId: "urgent", priority: "high", tasks: naps("h", 1) });
  await queued(swarm, "nap-high", 1);
  await swarm.host.spawn(1);
  const [urgent] = await outputs(swarm, "urgent");
  const backlog = await outputs(swarm, "backlog");
  const before = backlog.filter((b) => b.startedAt < urgent!.startedAt).length;
  t.log(`normal tasks that started before the high one: ${before} of ${backlog.length}`);
  t.true(before <= 1, `${before} normal tasks ran first`);
});

test("lower levels are not starved while higher ones have backlog", async (t) => {
  const swarm = await startSwarm(t, { agents: 0, stages: [stagePath("nap")] });
  await swarm.client.submitJob({ v: 1, jobId: "highs", priority: "high", tasks: naps("h", 40, 5) });
  await swarm.client.submitJob({ v: 1, jobId: "lows", priority: "low", tasks: naps("l", 4, 5) });
  await queued(swarm, "nap-high", 40);
  await queued(swarm, "nap-low", 4);
  await swarm.host.spawn(1);
  const highs = (await outputs(swarm, "highs")).map((o) => o.startedAt).sort((a, b) => a - b);
  const lows = (await outputs(swarm, "lows")).map((o) => o.startedAt).sort((a, b) => a - b);
  const lastHigh = highs[highs.length - 1]!;
  const lowsAmongHighs = lows.filter((s) => s < lastHigh).length;
  t.log(`low tasks that ran while high work was waiting: ${lowsAmongHighs} of ${lows.length}`);
  t.true(lows[0]! < lastHigh, "the first low task ran before the high backlog was empty");
  // Preference: most of the first ten dispatches were high.
  const firstTen = [...highs.map((s) => ({ s, h: true })), ...lows.map((s) => ({ s, h: false }))]
    .sort((a, b) => a.s - b.s)
    .slice(0, 10);
  t.true(firstTen.filter((x) => x.h).length >= 8);
});

test("a high-priority document submitted behind normal documents finishes before most of them", async (t) => {
  const swarm = await startSwarm(t, {
    agents: 0,
    processing: { chunkMaxPages: 2, busyWholeDocumentMaxPages: 0 },
  });
  const normals = await Promise.all(Array.from({ length: 5 }, (_, i) => knownDoc(`prio-normal-${i}`, 8)));
  for (const d of normals) await swarm.client.submit(d.bytes, { docId: d.docId });
  const high = await knownDoc("prio-high", 8);
  await swarm.client.submit(high.bytes, { docId: high.docId, priority: "high" });
  await swarm.host.spawn(1);
  const results = await Promise.all(
    [...normals, high].map((d) => swarm.client.result(d.docId, { timeoutMs: 120_000 })),
  );
  const finished = results
    .map((r) => ({ id: r.docId, at: r.timings.finishedAt }))
    .sort((a, b) => a.at - b.at);
  const rank = finished.findIndex((f) => f.id === high.docId);
  t.log(`the high document finished ${rank + 1} of ${finished.length}`);
  t.true(rank <= 1, `finished ${rank + 1}th`);
});

test("a raw client's Docswarm-Priority on plain docswarm.submit orders splitting too", async (t) => {
  // What any NATS client does: 12 documents without a header, then one with `high`, all on plain
  // docswarm.submit, queued before the one agent starts. Triage moves each to its priority's subject
  // before anything is split, so the high one does not wait behind the normal ones' splits.
  const swarm = await startSwarm(t, {
    agents: 0,
    processing: { chunkMaxPages: 2, busyWholeDocumentMaxPages: 0 },
  });
  const raw = jetstream(await connectTo(t, swarm.url, "raw-client"));
  const normals = await Promise.all(Array.from({ length: 12 }, (_, i) => knownDoc(`raw-normal-${i}`, 4)));
  for (const d of normals) {
    const h = headers();
    h.set("Docswarm-Doc-Id", d.docId);
    await raw.publish("docswarm.submit", d.bytes, { headers: h });
  }
  const high = await knownDoc("raw-high", 4);
  const h = headers();
  h.set("Docswarm-Doc-Id", high.docId);
  h.set("Docswarm-Priority", "high");
  const submitted = await raw.publish("docswarm.submit", high.bytes, { headers: h });
  await swarm.host.spawn(1);
  const results = await Promise.all(
    [...normals, high].map((d) => swarm.client.result(d.docId, { timeoutMs: 120_000 })),
  );
  for (const r of results) t.is(r.status, "done", r.error?.message);
  const finished = results
    .map((r) => ({ id: r.docId, at: r.timings.finishedAt }))
    .sort((a, b) => a.at - b.at);
  const rank = finished.findIndex((f) => f.id === high.docId);
  t.log(`the high document finished ${rank + 1} of ${finished.length}`);
  t.true(rank <= 1, `finished ${rank + 1}th`);
  // The doc id is the header's; the run id is the moved submission's stream sequence.
  const jobs = await new Kvm(swarm.nc).open("docswarm-jobs");
  const job = Job.parse((await jobs.get(high.docId))?.json());
  const runSeq = Number.parseInt(job.runId, 36);
  const info = await swarm.jsm.streams.info("DOCSWARM_SUBMIT");
  t.true(runSeq > submitted.seq && runSeq <= info.state.last_seq, `run ${job.runId} is the moved message's`);
  t.is(info.state.messages, 0, "triage acked every plain submission, split every moved one");
  t.is(info.state.last_seq, submitted.seq + 13, "each submission was moved exactly once");
});
