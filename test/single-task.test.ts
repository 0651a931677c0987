// A document that fits one chunk goes through in one task: split extracts it and writes its final
// result, without a job record, a stored copy of its bytes or any extract/merge task (watched on the
// streams themselves), and the coordinator still announces it, from the final's summary header (no
// split result). A submission whose delivery died after its final was stored (before its ack) is
// redelivered and ends with that one final, announced once; on a layout before 4 (no finals
// consumer) split's result announces it, and a results stream without per-message TTLs still works.
import { jetstreamManager } from "@nats-io/jetstream";
import { headers, type Msg, type NatsConnection } from "@nats-io/transport-node";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { decodeJson, FinalSummary, HEADERS, SwarmEvent, TopologyConfig } from "../schemas/index.ts";
import {
  BUCKETS,
  consumerSpecs,
  defaultDocId,
  FINALS_CONSUMER,
  OBJECT_STORES,
  resourceSpecs,
  STREAMS,
  subjects,
  uploadDocument,
} from "../streams/index.ts";
import { assertDone } from "./support/assert.ts";
import { startFrozenSplit, waitRedeliveryAcked } from "./support/frozen-split.ts";
import { knownDoc } from "./support/pdf.ts";
import { startSwarm, startTopology } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

/** Every message published on the subjects a document's state would be written to, and its events. */
function watch(nc: NatsConnection) {
  const seen = { jobs: 0, docs: 0, tasks: 0, finals: 0, events: [] as SwarmEvent[], results: [] as Msg[] };
  nc.subscribe(`$KV.${BUCKETS.jobs}.>`, { callback: () => void seen.jobs++ });
  nc.subscribe(`$O.${OBJECT_STORES.docs}.>`, { callback: () => void seen.docs++ });
  nc.subscribe("docswarm.task.>", { callback: () => void seen.tasks++ });
  nc.subscribe(subjects.final("*"), { callback: () => void seen.finals++ });
  nc.subscribe(subjects.resultsAll, { callback: (_e, m) => void seen.results.push(m) });
  nc.subscribe(subjects.eventsAll, {
    callback: (_e, m) => {
      const e = decodeJson(SwarmEvent, m.data);
      if (e.ok) seen.events.push(e.value);
    },
  });
  return seen;
}

async function lastSeq(nc: NatsConnection, stream: string): Promise<number> {
  return (await (await jetstreamManager(nc)).streams.info(stream)).state.last_seq;
}

async function storedFinals(nc: NatsConnection, docId: string): Promise<number> {
  const info = await (await jetstreamManager(nc)).streams.info(STREAMS.done, {
    subjects_filter: subjects.done(docId),
  });
  return info.state.subjects?.[subjects.done(docId)] ?? 0;
}

const eventTypes = (events: SwarmEvent[], docId: string) =>
  events.filter((e) => "docId" in e && e.docId === docId).map((e) => e.type);

test("a 2-page document is one task: no job, no stored bytes, no extract or merge task; the coordinator announces it", async (t) => {
  const swarm = await startSwarm(t, { agents: 2 });
  const seen = watch(swarm.nc);
  const doc = await knownDoc("single-two", 2);
  await swarm.client.submit(doc.bytes, { docId: doc.docId, source: "two.pdf" });
  const r = assertDone(t, await swarm.client.result(doc.docId, { timeoutMs: 60_000 }), doc);
  t.is(r.chunks, 1);
  t.is(r.source, "two.pdf");
  t.deepEqual(Object.keys(r.timings.stageMs).sort(), ["extract", "split"]);
  t.is(r.meta?.pageCount, 2);
  await waitFor(() => eventTypes(seen.events, doc.docId).includes("doc.done"), {
    message: "doc.done from the coordinator",
  });
  t.deepEqual(eventTypes(seen.events, doc.docId), ["doc.accepted", "doc.progress", "doc.done"]);
  const progress = seen.events.find((e) => e.type === "doc.progress");
  t.like(progress, { stage: "extract", pagesDone: 2, pageCount: 2, chunkPages: 2 });

  // Nothing was written where a job, its bytes or its tasks would go, on the wire or in the streams.
  t.is(seen.jobs, 0, "job record writes");
  t.is(seen.docs, 0, "object store writes");
  t.is(seen.tasks, 0, "tasks published");
  t.is(seen.finals, 1, "final publishes");
  t.is(await lastSeq(swarm.nc, `KV_${BUCKETS.jobs}`), 0);
  t.is(await lastSeq(swarm.nc, `OBJ_${OBJECT_STORES.docs}`), 0);
  t.is(await lastSeq(swarm.nc, STREAMS.tasks), 0);
  // No result at all: the final's summary header told the coordinator.
  t.is(seen.results.length, 0, "results published");
  t.is(await lastSeq(swarm.nc, STREAMS.results), 0);
  const stored = await swarm.jsm.streams.getMessage(STREAMS.done, { last_by_subj: subjects.done(doc.docId) });
  const summary = FinalSummary.safeParse(JSON.parse(stored?.header.get(HEADERS.summary) ?? "null"));
  t.true(summary.success, summary.error?.message);
  t.like(summary.data, { docId: doc.docId, status: "done", pageCount: 2, delivery: 1, priority: "normal" });
  await waitFor(
    async () => (await swarm.jsm.consumers.info(STREAMS.done, FINALS_CONSUMER)).num_ack_pending === 0,
    { message: "the final acked by the coordinator" },
  );
});

test("a small document sent as an upload ends in split, and its upload's chunks are removed", async (t) => {
  const swarm = await startSwarm(t, { agents: 1 });
  const doc = await knownDoc("single-upload", 3, { charsPerPage: 3300 });
  const upload = await uploadDocument(swarm.js, doc.bytes, 16 * 1024);
  const chunks = async () =>
    (await swarm.jsm.streams.info(`OBJ_${OBJECT_STORES.docs}`, { subjects_filter: ">" })).state.subjects ??
    {};
  t.deepEqual(Object.keys(await chunks()), [`$O.${OBJECT_STORES.docs}.C.${upload.id}`]);
  const seen = watch(swarm.nc);
  const h = headers();
  h.set(HEADERS.upload, upload.id);
  h.set(HEADERS.uploadSize, String(upload.size));
  h.set(HEADERS.uploadDigest, upload.digest);
  await swarm.js.publish(subjects.submit, new Uint8Array(), { headers: h });
  const docId = defaultDocId(doc.bytes);
  const r = assertDone(t, await swarm.client.result(docId, { timeoutMs: 60_000 }), doc, docId);
  t.is(r.chunks, 1);
  await waitFor(async () => Object.keys(await chunks()).length === 0, {
    message: "the upload's chunks purged",
  });
  t.is(seen.jobs, 0);
  t.is(seen.tasks, 0);
});

test("a delivery that dies after storing the final is redelivered and ends with that one final", async (t) => {
  t.timeout(90_000);
  const { nc, url } = await startTopology(t);
  const coordinator = await Coordinator.start({ servers: url });
  t.teardown(() => coordinator.close());
  const seen = watch(nc);
  const client = new DocswarmClient(nc);
  const doc = await knownDoc("single-redelivered", 2);
  await client.submit(doc.bytes, { docId: doc.docId });

  // The first delivery freezes right after its final is stored (as if its process had died there).
  const { delivery, source } = await startFrozenSplit(nc);
  t.is(delivery.info.delivered, 1);
  const first = await client.result(doc.docId, { timeoutMs: 30_000 });
  t.is(first.status, "done");
  // The stored final announces the document at once, while its submission is still held.
  await waitFor(() => eventTypes(seen.events, doc.docId).includes("doc.done"), {
    message: "doc.done from the stored final",
    timeoutMs: 30_000,
  });

  // A real agent gets the redelivery (after the ack wait): it extracts again, and its final publish
  // is answered as a duplicate of the stored one (nothing stored, nothing announced again).
  const host = await AgentHost.start({ servers: url, agents: 1 });
  t.teardown(() => host.close({ abandonPulls: true }));
  const jsm = await jetstreamManager(nc);
  await waitFor(() => seen.finals === 2, {
    message: "the redelivery's final publish",
    timeoutMs: 30_000,
  });
  await waitRedeliveryAcked(jsm, source);
  t.is(await storedFinals(nc, doc.docId), 1);
  t.deepEqual(await client.result(doc.docId), first, "the stored final is the first delivery's");
  t.is(seen.results.length, 0, "no split result from either delivery");
  t.deepEqual(eventTypes(seen.events, doc.docId), ["doc.accepted", "doc.progress", "doc.done"]);
  t.is(seen.jobs, 0, "no job record written by either delivery");
  t.is(seen.tasks, 0);
});

test("on a layout before 4, split's result announces the document; without per-message TTLs the coordinator deletes it", async (t) => {
  const { nc, url } = await startTopology(t);
  // The results stream as a layout before version 3 had it, and the done stream without the
  // coordinator's finals consumer (layout 3): agents announce through split results.
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.delete(STREAMS.done, FINALS_CONSUMER);
  const done = (await jsm.streams.info(STREAMS.done)).config;
  await jsm.streams.update(STREAMS.done, {
    ...done,
    metadata: { ...done.metadata, "docswarm.version": "3" },
  });
  const config = TopologyConfig.parse({});
  const spec = resourceSpecs(config, nc.info?.max_payload ?? 1024 * 1024).find(
    (s) => s.stream === STREAMS.results,
  )!;
  await jsm.streams.delete(STREAMS.results);
  await jsm.streams.add({ ...spec.config, allow_msg_ttl: false });
  for (const c of consumerSpecs(config).filter((c) => c.stream === STREAMS.results))
    await jsm.consumers.add(c.stream, c.config);
  t.false((await jsm.streams.info(STREAMS.results)).config.allow_msg_ttl ?? false);

  const coordinator = await Coordinator.start({ servers: url });
  t.teardown(() => coordinator.close());
  const host = await AgentHost.start({ servers: url, agents: 1 });
  t.teardown(() => host.close({ abandonPulls: true }));
  const seen = watch(nc);
  const client = new DocswarmClient(nc);
  const docs = await Promise.all([1, 3].map((n) => knownDoc(`single-old-layout-${n}`, n)));
  for (const d of docs) await client.submit(d.bytes, { docId: d.docId });
  for (const d of docs) assertDone(t, await client.result(d.docId, { timeoutMs: 60_000 }), d);
  await waitFor(() => docs.every((d) => eventTypes(seen.events, d.docId).includes("doc.done")), {
    message: "doc.done for both",
  });
  await waitFor(async () => (await jsm.streams.info(STREAMS.results)).state.messages === 0, {
    message: "split's results deleted by the coordinator",
  });
  // The first result was offered with a TTL, refused, and sent again without; the rest went without.
  const kept = seen.results.filter((m) => !m.headers?.get("Nats-TTL"));
  t.deepEqual(kept.map((m) => m.subject).sort(), docs.map((d) => subjects.result(d.docId, "split.0")).sort());
  t.true(seen.results.length <= docs.length + 1, `${seen.results.length} result publishes`);
  for (const d of docs)
    t.deepEqual(eventTypes(seen.events, d.docId), ["doc.accepted", "doc.progress", "doc.done"], d.docId);
});
