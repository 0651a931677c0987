// A document that fits one chunk goes through in one task: split extracts it and writes its final
// result, without a job record, a stored copy of its bytes or any extract/merge task (watched on the
// streams themselves), and the coordinator still announces it from split's result. A submission
// whose delivery died after its final was stored (before its result and ack) is redelivered and
// ends with that one final; a results stream without per-message TTLs (an older layout) still works.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, type Msg, type NatsConnection } from "@nats-io/transport-node";
import test from "ava";
import { parseAckSubject, TaskDelivery } from "../agents/delivery.ts";
import { AgentHost, builtinHandlers, chooseEngine } from "../agents/index.ts";
import { createServices } from "../agents/services.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import {
  decodeJson,
  HEADERS,
  ProcessingConfig,
  SwarmEvent,
  TaskResult,
  TopologyConfig,
} from "../schemas/index.ts";
import {
  BUCKETS,
  consumerSpecs,
  defaultDocId,
  OBJECT_STORES,
  openState,
  resourceSpecs,
  STREAMS,
  subjects,
  taskSources,
  uploadDocument,
} from "../streams/index.ts";
import { assertDone } from "./support/assert.ts";
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
  // One result, split's, which expires by itself: the coordinator had nothing to purge.
  t.deepEqual(
    seen.results.map((m) => m.subject),
    [subjects.result(doc.docId, "split.0")],
  );
  const stored = await swarm.jsm.streams.getMessage(STREAMS.results, {
    last_by_subj: subjects.result(doc.docId, "split.0"),
  });
  t.is(stored?.header.get("Nats-TTL"), `${TopologyConfig.parse({}).jobsFinishedTtlMs}ms`);
  const result = decodeJson(TaskResult, stored!.data);
  t.true(result.ok);
  if (result.ok) t.like(result.value.output, { outcome: "finished", status: "done", pageCount: 2 });
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

  // The first delivery, run by this test as an agent would, freezes right after its final is stored:
  // its result never goes out and the submission is never acked (as if the process had died there).
  const source = taskSources("split").find((s) => s.priority === "normal")!;
  const msg = await nc.request(
    `$JS.API.CONSUMER.MSG.NEXT.${source.stream}.${source.consumer}`,
    JSON.stringify({ batch: 1, expires: 5_000_000_000 }),
    // A delivery's subject is its own, not the reply inbox: only a dedicated subscription gets it.
    { timeout: 10_000, noMux: true },
  );
  class Frozen extends TaskDelivery {
    override ack() {}
    override nak() {}
    override term() {}
  }
  const delivery = new Frozen(nc, msg, parseAckSubject(msg.reply!)!, source);
  t.is(delivery.info.delivered, 1);
  const processing = ProcessingConfig.parse({});
  const js = jetstream(nc);
  const services = createServices({
    agentId: "frozen-agent",
    stages: ["split", "extract", "merge"],
    nc,
    js,
    jsm: await jetstreamManager(nc),
    state: await openState(js),
    topology: TopologyConfig.parse({}),
    processing,
    maxPayloadBytes: nc.info?.max_payload ?? 1024 * 1024,
    engine: chooseEngine({ preferred: processing.engine, fallback: processing.fallback }),
    log: () => {},
  });
  const publish = services.publisher.publish.bind(services.publisher);
  services.publisher.publish = (subject, data, opts) =>
    subject.startsWith("docswarm.result.") ? new Promise(() => {}) : publish(subject, data, opts);
  void builtinHandlers.split!.handle(delivery, services, new AbortController().signal);
  const first = await client.result(doc.docId, { timeoutMs: 30_000 });
  t.is(first.status, "done");
  t.is(seen.results.length, 0, "the frozen delivery published no result");

  // A real agent gets the redelivery (after the ack wait): it extracts again, its final publish is
  // answered as a duplicate of the stored one, and its result tells the coordinator.
  const host = await AgentHost.start({ servers: url, agents: 1 });
  t.teardown(() => host.close({ abandonPulls: true }));
  await waitFor(() => eventTypes(seen.events, doc.docId).includes("doc.done"), {
    message: "doc.done after the redelivery",
    timeoutMs: 30_000,
  });
  t.is(seen.finals, 2, "final publishes attempted: the frozen delivery's and the redelivery's");
  t.is(await storedFinals(nc, doc.docId), 1);
  t.deepEqual(await client.result(doc.docId), first, "the stored final is the first delivery's");
  const results = seen.results.map((m) => decodeJson(TaskResult, m.data));
  t.is(results.length, 1);
  t.like(results[0]?.ok ? results[0].value : undefined, { stage: "split", delivery: 2, status: "ok" });
  const jsm = await jetstreamManager(nc);
  await waitFor(
    async () => {
      const ci = await jsm.consumers.info(STREAMS.submit, source.consumer);
      return ci.num_pending === 0 && ci.num_ack_pending === 0;
    },
    { message: "the redelivered submission acked" },
  );
  t.is(seen.jobs, 0, "no job record written by either delivery");
  t.is(seen.tasks, 0);
});

test("on a results stream without per-message TTLs the coordinator deletes split's result", async (t) => {
  const { nc, url } = await startTopology(t);
  // The results stream as a layout before version 3 had it.
  const jsm = await jetstreamManager(nc);
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
});
