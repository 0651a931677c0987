// Coordinator failover in one process: two coordinators, the leader "crashes" (stops without
// releasing its lease) while documents are in flight; the standby takes over from the durable
// results consumer and every document still ends with exactly one final result.
import { jetstreamManager } from "@nats-io/jetstream";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { CoordinatorStatus, decodeJson, SwarmEvent } from "../schemas/index.ts";
import { STREAMS, subjects } from "../streams/index.ts";
import { makeCorpus } from "./support/pdf.ts";
import { startTopology } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const topology = { coordinatorAckWaitMs: 1000 };
const config = { leaderTtlMs: 1500, leaderRenewMs: 300, standbyPollMs: 100 };

test("a standby coordinator takes over from a crashed leader; no document is lost or finished twice", async (t) => {
  const { nc, url } = await startTopology(t, topology);
  const events: SwarmEvent[] = [];
  nc.subscribe(subjects.eventsAll, {
    callback: (_e, m) => {
      const e = decodeJson(SwarmEvent, m.data);
      if (e.ok) events.push(e.value);
    },
  });
  const finals = new Map<string, number>();
  nc.subscribe(subjects.doneAll, {
    callback: (_e, m) => {
      finals.set(m.subject, (finals.get(m.subject) ?? 0) + 1);
    },
  });

  const a = await Coordinator.start({ servers: url, id: "coord-a", config });
  t.teardown(() => a.close());
  const b = await Coordinator.start({ servers: url, id: "coord-b", config });
  t.teardown(() => b.close());
  t.true(a.isLeader, "the first coordinator leads");
  t.false(b.isLeader, "the second one stands by");

  const host = await AgentHost.start({ servers: url, agents: 2, topology });
  t.teardown(() => host.close({ abandonPulls: true }));
  const client = new DocswarmClient(nc);
  const docs = await makeCorpus(12, { seed: 7, maxPages: 6 });
  for (const d of docs.slice(0, 6)) await client.submit(d.bytes, { docId: d.docId });
  await waitFor(() => events.some((e) => e.type === "doc.progress"), { message: "some progress" });

  await a.close({ releaseLeadership: false });
  for (const d of docs.slice(6)) await client.submit(d.bytes, { docId: d.docId });
  await waitFor(() => b.isLeader, { message: "the standby to take over", timeoutMs: 15_000 });
  const elected = await waitFor(
    () => {
      const list = events.filter((e) => e.type === "coordinator.elected");
      return list.length >= 2 ? list : undefined;
    },
    { message: "the new leader's coordinator.elected event" },
  );
  t.deepEqual(
    elected.map((e) => (e.type === "coordinator.elected" ? e.coordinatorId : "")),
    ["coord-a", "coord-b"],
  );

  const results = await Promise.all(docs.map((d) => client.result(d.docId, { timeoutMs: 60_000 })));
  for (const [i, r] of results.entries()) {
    t.is(r.status, "done", `${docs[i]!.docId}: ${r.error?.message}`);
    t.deepEqual(
      r.pages.map((p) => p.text.split("\n")[0]),
      docs[i]!.pages.map((_, n) => `Page ${n + 1} of ${docs[i]!.docId}`),
    );
  }
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAMS.done, { subjects_filter: subjects.doneAll });
  t.is(Object.keys(info.state.subjects ?? {}).length, docs.length);
  t.true(
    Object.values(info.state.subjects ?? {}).every((n) => n === 1),
    "one stored final per document",
  );
  await waitFor(() => finals.size === docs.length, { message: "every republished final" });
  t.true(
    [...finals.values()].every((n) => n === 1),
    "one republished final per document",
  );
  const doneEvents = () => events.filter((e) => e.type === "doc.done");
  await waitFor(() => new Set(doneEvents().map((e) => ("docId" in e ? e.docId : ""))).size === docs.length, {
    message: "a doc.done event per document",
  });

  // The new leader answers status requests.
  const reply = await nc.request(subjects.coordinatorStatus, new Uint8Array(), { timeout: 2000 });
  const status = decodeJson(CoordinatorStatus, reply.data);
  t.true(status.ok);
  if (status.ok) {
    t.is(status.value.coordinatorId, "coord-b");
    t.is(status.value.term, b.term);
    t.is(status.value.agents.live.length, 2);
  }
});
