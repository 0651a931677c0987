// A long document split extracts whole behind a backlog (busyWholeDocumentMaxPages) yields to
// higher-priority work: a high-priority submission arriving while it extracts stops it after the
// current page, and the rest is chunked through the job's ordinary lifecycle (split's pages are
// chunk 0). Work of its own priority does not stop it. A redelivery of a submission whose first
// delivery yielded and froze (before chunk 0's result, or after the tasks) ends with one final.
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { BUCKETS, STREAMS, subjects, taskSources } from "../streams/index.ts";
import { assertDone } from "./support/assert.ts";
import { startFrozenSplit, waitRedeliveryAcked } from "./support/frozen-split.ts";
import { knownDoc } from "./support/pdf.ts";
import { startSwarm, startTopology } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

// Long enough that a submission made once its extraction began arrives before its last page.
const LONG_PAGES = 300;
const CAP = { busyWholeDocumentMaxPages: 512 };
const split = (p: "high" | "normal") => taskSources("split").find((s) => s.priority === p && !s.triage)!;

function countJobWrites(nc: NatsConnection) {
  const seen = { jobs: 0, extractTasks: 0 };
  nc.subscribe(`$KV.${BUCKETS.jobs}.>`, { callback: () => void seen.jobs++ });
  nc.subscribe("docswarm.task.extract.>", { callback: () => void seen.extractTasks++ });
  return seen;
}

/**
 * Counts the agent's looks for higher-priority work (consumer info of split-high, as the server
 * sees the request): the first comes before split starts the document whole, the next ones while
 * it extracts, at most every LOOK_EVERY_MS.
 */
function countLooks(nc: NatsConnection) {
  const looks = { n: 0 };
  nc.subscribe(`$JS.API.CONSUMER.INFO.${STREAMS.submit}.${split("high").consumer}`, {
    callback: () => void looks.n++,
  });
  return looks;
}

/** Once the long document is being extracted whole: a look made between two of its pages. */
async function whileExtracting(looks: { n: number }) {
  await waitFor(() => looks.n >= 2, { message: "a look between pages", intervalMs: 2 });
}

test("a busy whole document yields to a high-priority submission: the rest is chunked after split's pages", async (t) => {
  t.timeout(120_000);
  // A lone agent is always busy: the long document alone is one task until something outranks it.
  const swarm = await startSwarm(t, { agents: 1, processing: CAP });
  const seen = countJobWrites(swarm.nc);
  const looks = countLooks(swarm.nc);
  const long = await knownDoc("yield-long", LONG_PAGES, { charsPerPage: 3300 });
  const high = await knownDoc("yield-high", 3);
  await swarm.client.submit(long.bytes, { docId: long.docId });
  await whileExtracting(looks);
  await swarm.client.submit(high.bytes, { docId: high.docId, priority: "high" });
  const h = assertDone(t, await swarm.client.result(high.docId, { timeoutMs: 60_000 }), high);
  const r = assertDone(t, await swarm.client.result(long.docId, { timeoutMs: 60_000 }), long);
  t.true(r.chunks > 1, `${r.chunks} chunks`);
  t.true("merge" in r.timings.stageMs);
  t.true(seen.jobs > 0, "the long document has a job");
  // Chunk 0 is split's pages: no extract task for it, one for every other chunk.
  t.is(seen.extractTasks, r.chunks - 1, "extract tasks published");
  t.true(h.timings.finishedAt < r.timings.finishedAt, "the high-priority document finished first");
});

test("work of its own priority does not make a busy whole document yield", async (t) => {
  t.timeout(120_000);
  const swarm = await startSwarm(t, { agents: 1, processing: CAP });
  const seen = countJobWrites(swarm.nc);
  const looks = countLooks(swarm.nc);
  const long = await knownDoc("noyield-long", LONG_PAGES, { charsPerPage: 3300 });
  const other = await knownDoc("noyield-normal", 3);
  await swarm.client.submit(long.bytes, { docId: long.docId });
  await whileExtracting(looks);
  await swarm.client.submit(other.bytes, { docId: other.docId });
  const r = assertDone(t, await swarm.client.result(long.docId, { timeoutMs: 60_000 }), long);
  assertDone(t, await swarm.client.result(other.docId, { timeoutMs: 60_000 }), other);
  t.is(r.chunks, 1);
  t.log(`extract ${r.timings.stageMs.extract} ms, ${looks.n} looks`);
  t.is(seen.jobs, 0, "job record writes");
  t.is(seen.extractTasks, 0);
});

for (const freeze of ["before chunk 0's result", "after its tasks, before split's result"] as const) {
  test(`a yielded submission whose first delivery froze ${freeze} is redelivered and ends once`, async (t) => {
    t.timeout(120_000);
    const { nc, url } = await startTopology(t);
    const coordinator = await Coordinator.start({ servers: url });
    t.teardown(() => coordinator.close());
    const seen = countJobWrites(nc);
    const client = new DocswarmClient(nc);
    const doc = await knownDoc("yield-redelivered", 100);
    await client.submit(doc.bytes, { docId: doc.docId });

    // The first delivery, run here as a lone agent would (none registered: always busy), comes to
    // hold a high-priority task ahead, so it yields after its first page; it freezes at `freeze`.
    // Nothing held when split asks before extracting (it would not start whole), then one task.
    let asked = 0;
    const { source, froze } = await startFrozenSplit(nc, CAP, {
      holds: (subject) =>
        freeze === "before chunk 0's result"
          ? subject.startsWith("docswarm.result.") || subject.startsWith("docswarm.task.")
          : subject === subjects.result(doc.docId, "split.0"),
      prepare: (services) => {
        services.heldAhead = (p) => (p === "high" && ++asked > 1 ? 1 : 0);
      },
    });
    await waitFor(froze, { message: "the first delivery froze" });

    // A lone real agent gets the redelivery (after the ack wait) and carries the job to its end.
    const host = await AgentHost.start({ servers: url, agents: 1, processing: CAP });
    t.teardown(() => host.close({ abandonPulls: true }));
    const r = assertDone(t, await client.result(doc.docId, { timeoutMs: 90_000 }), doc);
    t.true(r.chunks > 1, `${r.chunks} chunks`);
    t.is(r.pages.length, 100);
    const jsm = await jetstreamManager(nc);
    await waitRedeliveryAcked(jsm, source, 60_000);
    const info = await jsm.streams.info(STREAMS.done, { subjects_filter: subjects.done(doc.docId) });
    t.is(info.state.subjects?.[subjects.done(doc.docId)], 1, "one stored final");
    t.deepEqual(await client.result(doc.docId), r);
    t.true(seen.jobs > 0);
  });
}
