// A long document is one task when the swarm is busy: with a backlog of submissions behind it (one
// per other live extract agent), or on a lone agent, split extracts it whole, without a job, chunks
// or merge (and hands its rest on as chunks when the other agent stays idle). The same document on
// an idle swarm of two agents is chunked, and
// busyWholeDocumentMaxPages 0 keeps the old plan (the 100-page document here needs the cap raised
// from its default, 32). A busy whole document whose first delivery died after storing its final
// is redelivered and ends once.
import { jetstreamManager } from "@nats-io/jetstream";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import test, { type ExecutionContext } from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import type { ProcessingConfig } from "../schemas/index.ts";
import { BUCKETS, countServing, listAgents, STREAMS, subjects } from "../streams/index.ts";
import { assertDone } from "./support/assert.ts";
import { startFrozenSplit, waitRedeliveryAcked } from "./support/frozen-split.ts";
import { type KnownDoc, knownDoc } from "./support/pdf.ts";
import { startSwarm, startTopology } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

// Above wholeDocumentMaxPages (16), so only the busy rule makes it one task, with the cap raised to
// let it. chunkMaxPages as large: a busy whole document hands on a rest of more than one chunk's
// pages when the other agent runs out of work (the backlog here is done long before it), which
// these tests of the one-task path keep out of reach; the last test is that hand-on.
const LONG_PAGES = 100;
const CAP = { busyWholeDocumentMaxPages: 512, chunkMaxPages: LONG_PAGES };

/** Job record writes and task publishes, anywhere: a document on the single-task path makes none. */
function watch(nc: NatsConnection) {
  const seen = { jobs: 0, tasks: 0, finals: 0, results: [] as Msg[] };
  nc.subscribe(`$KV.${BUCKETS.jobs}.>`, { callback: () => void seen.jobs++ });
  nc.subscribe("docswarm.task.>", { callback: () => void seen.tasks++ });
  nc.subscribe(subjects.final("*"), { callback: () => void seen.finals++ });
  nc.subscribe(subjects.resultsAll, { callback: (_e, m) => void seen.results.push(m) });
  return seen;
}

/**
 * Submits the long document (`longPages`) first and `backlog` small ones after it, then starts the
 * agents, so the long one's delivery has the small ones pending behind it.
 */
async function withBacklog(
  t: ExecutionContext,
  backlog: number,
  processing: Partial<ProcessingConfig> = CAP,
  longPages = LONG_PAGES,
) {
  const { nc, url } = await startTopology(t);
  const coordinator = await Coordinator.start({ servers: url });
  t.teardown(() => coordinator.close());
  const seen = watch(nc);
  const client = new DocswarmClient(nc);
  const long = await knownDoc("busy-long", longPages);
  const small = await Promise.all(Array.from({ length: backlog }, (_, i) => knownDoc(`busy-small-${i}`, 2)));
  for (const d of [long, ...small]) await client.submit(d.bytes, { docId: d.docId });
  const host = await AgentHost.start({ servers: url, agents: 2, processing });
  t.teardown(() => host.close({ abandonPulls: true }));
  for (const d of small) assertDone(t, await client.result(d.docId, { timeoutMs: 60_000 }), d);
  return { seen, client, long };
}

async function longResult(t: ExecutionContext, client: DocswarmClient, long: KnownDoc) {
  return assertDone(t, await client.result(long.docId, { timeoutMs: 60_000 }), long);
}

test("with a backlog behind it, a long document is one task: no job, no extract or merge task", async (t) => {
  const { seen, client, long } = await withBacklog(t, 3);
  const r = await longResult(t, client, long);
  t.is(r.chunks, 1);
  t.deepEqual(Object.keys(r.timings.stageMs).sort(), ["extract", "split"]);
  t.is(seen.jobs, 0, "job record writes");
  t.is(seen.tasks, 0, "tasks published");
});

test("with the default cap, a 30-page document behind a backlog is one task", async (t) => {
  const { nc, url } = await startTopology(t);
  const coordinator = await Coordinator.start({ servers: url });
  t.teardown(() => coordinator.close());
  const seen = watch(nc);
  const client = new DocswarmClient(nc);
  const doc = await knownDoc("busy-default", 30);
  const small = await Promise.all([0, 1, 2].map((i) => knownDoc(`busy-default-small-${i}`, 2)));
  for (const d of [doc, ...small]) await client.submit(d.bytes, { docId: d.docId });
  const host = await AgentHost.start({ servers: url, agents: 2 });
  t.teardown(() => host.close({ abandonPulls: true }));
  t.is(assertDone(t, await client.result(doc.docId, { timeoutMs: 60_000 }), doc).chunks, 1);
  t.is(seen.tasks, 0);
});

test("busyWholeDocumentMaxPages 0: the same document behind the same backlog is chunked", async (t) => {
  const { seen, client, long } = await withBacklog(t, 3, { busyWholeDocumentMaxPages: 0 });
  const r = await longResult(t, client, long);
  t.true(r.chunks > 1, `${r.chunks} chunks`);
  t.true("merge" in r.timings.stageMs);
  t.true(seen.jobs > 0);
});

test("a document above busyWholeDocumentMaxPages is chunked behind a backlog", async (t) => {
  const { client, long } = await withBacklog(t, 3, { busyWholeDocumentMaxPages: LONG_PAGES - 1 });
  t.true((await longResult(t, client, long)).chunks > 1);
});

test("on an idle swarm of two agents a long document is chunked", async (t) => {
  const swarm = await startSwarm(t, { agents: 2, processing: CAP });
  // Both agents registered, so the submission is alone with another agent free.
  await waitFor(async () => countServing(await listAgents(swarm.jsm), "extract") === 2, {
    message: "two extract agents registered",
  });
  const long = await knownDoc("idle-long", LONG_PAGES);
  await swarm.client.submit(long.bytes, { docId: long.docId });
  const r = await longResult(t, swarm.client, long);
  t.true(r.chunks > 1, `${r.chunks} chunks`);
  t.true("merge" in r.timings.stageMs);
});

test("a lone agent is always busy: a long document alone is one task", async (t) => {
  const swarm = await startSwarm(t, { agents: 1, processing: CAP });
  const seen = watch(swarm.nc);
  const long = await knownDoc("lone-long", LONG_PAGES);
  await swarm.client.submit(long.bytes, { docId: long.docId });
  const r = await longResult(t, swarm.client, long);
  t.is(r.chunks, 1);
  t.is(seen.tasks, 0);
});

test("a busy whole long document whose delivery died after its final is redelivered and ends once", async (t) => {
  t.timeout(90_000);
  const { nc, url } = await startTopology(t);
  const coordinator = await Coordinator.start({ servers: url });
  t.teardown(() => coordinator.close());
  const seen = watch(nc);
  const client = new DocswarmClient(nc);
  const doc = await knownDoc("busy-redelivered", LONG_PAGES);
  await client.submit(doc.bytes, { docId: doc.docId });

  // The first delivery, run here as a lone agent would (no agent registered: always busy), freezes
  // right after storing its final: no result, no ack.
  const { source } = await startFrozenSplit(nc, CAP);
  const first = assertDone(t, await client.result(doc.docId, { timeoutMs: 30_000 }), doc);
  t.is(first.chunks, 1);

  // A lone real agent gets the redelivery, extracts it whole again, and its final is refused.
  const host = await AgentHost.start({ servers: url, agents: 1, processing: CAP });
  t.teardown(() => host.close({ abandonPulls: true }));
  // Its final publish is answered as a duplicate of the stored one; the stored final's summary
  // header has announced the document, so neither delivery publishes split's result (layout 4).
  const jsm = await jetstreamManager(nc);
  await waitFor(() => seen.finals === 2, {
    message: "final publishes attempted: the frozen delivery's and the redelivery's",
    timeoutMs: 30_000,
  });
  await waitRedeliveryAcked(jsm, source, 30_000);
  t.is(seen.results.length, 0, "no split result from either delivery");
  const info = await jsm.streams.info(STREAMS.done, {
    subjects_filter: subjects.done(doc.docId),
  });
  t.is(info.state.subjects?.[subjects.done(doc.docId)], 1, "one stored final");
  t.deepEqual(await client.result(doc.docId), first);
  t.is(seen.jobs, 0);
  t.is(seen.tasks, 0);
});

test("a busy whole document hands its rest on as chunks when the other agent runs out of work", async (t) => {
  // One small document behind it: the other agent ends that at once and is then idle, while split
  // is still early in the long one's pages.
  const { seen, client, long } = await withBacklog(t, 1, { busyWholeDocumentMaxPages: 512 }, 400);
  const r = await longResult(t, client, long);
  t.true(r.chunks > 1, `${r.chunks} chunks`);
  t.true("merge" in r.timings.stageMs);
  t.true(seen.jobs > 0, "the rest took the job's path");
  t.is(seen.finals, 2, "one final per document");
});
