// Exactly one final result per document: duplicate submissions join the existing job and get its
// result (a document split ends itself is extracted again and its final refused), explicit
// reprocessing replaces the result (still one stored), and duplicated result messages are counted
// once.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import test, { type ExecutionContext } from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { JobStore } from "../jobs/index.ts";
import { decodeJson, HEADERS, Job, type ProcessingConfig, SwarmEvent, TaskResult } from "../schemas/index.ts";
import { BUCKETS, STREAMS, subjects } from "../streams/index.ts";
import { denseDoc } from "./support/pdf.ts";
import { startTopology } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

/** Documents of more than two pages take the job's path (chunks, merge) unless `processing` says otherwise. */
async function swarm(
  t: ExecutionContext,
  processing: Partial<ProcessingConfig> = { chunkMaxPages: 2, busyWholeDocumentMaxPages: 0 },
) {
  const { nc, url } = await startTopology(t);
  const coordinator = await Coordinator.start({ servers: url });
  t.teardown(() => coordinator.close());
  const host = await AgentHost.start({ servers: url, agents: 2, processing });
  t.teardown(() => host.close({ abandonPulls: true }));
  const republished = new Map<string, number>();
  nc.subscribe(subjects.doneAll, {
    callback: (_e, m) => {
      republished.set(m.subject, (republished.get(m.subject) ?? 0) + 1);
    },
  });
  // Every final publish attempted (a core subscriber sees those the done stream refuses too): the
  // done stream keeps one per document by construction, so what shows nothing ran twice is this.
  const attempted = new Map<string, number>();
  nc.subscribe(subjects.final("*"), {
    callback: (_e, m) => {
      const id = m.subject.slice(subjects.final("").length);
      attempted.set(id, (attempted.get(id) ?? 0) + 1);
    },
  });
  return { nc, url, client: new DocswarmClient(nc), republished, attempted };
}

async function lastSeq(nc: NatsConnection, stream: string): Promise<number> {
  return (await (await jetstreamManager(nc)).streams.info(stream)).state.last_seq;
}

async function storedFinals(nc: NatsConnection, docId: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAMS.done, { subjects_filter: subjects.done(docId) });
  return info.state.subjects?.[subjects.done(docId)] ?? 0;
}

test("submitting the same document again returns the existing result; the stream holds one", async (t) => {
  const { nc, client, republished, attempted } = await swarm(t);
  const doc = await denseDoc("dup-doc", 4);
  // Two raw submissions without a message id (the stream keeps both), and two through the client.
  const js = jetstream(nc);
  const h = headers();
  h.set(HEADERS.docId, doc.docId);
  await Promise.all([
    js.publish(subjects.submit, doc.bytes, { headers: h }),
    js.publish(subjects.submit, doc.bytes, { headers: h }),
    client.submit(doc.bytes, { docId: doc.docId }),
    client.submit(doc.bytes, { docId: doc.docId }),
  ]);
  const first = await client.result(doc.docId, { timeoutMs: 30_000 });
  t.is(first.status, "done");
  // Later: yet another submission of the same id is acknowledged and changes nothing.
  await client.submit(doc.bytes, { docId: doc.docId });
  const jsm = await jetstreamManager(nc);
  await waitFor(
    async () => {
      // Plain docswarm.submit passes split-triage first.
      const cis = await Promise.all(
        ["split-triage", "split-normal"].map((c) => jsm.consumers.info(STREAMS.submit, c)),
      );
      return cis.every((ci) => ci.num_pending === 0 && ci.num_ack_pending === 0);
    },
    { message: "every submission to be handled" },
  );
  const again = await client.result(doc.docId);
  t.deepEqual(again, first);
  t.is(await storedFinals(nc, doc.docId), 1);
  t.is(republished.get(subjects.done(doc.docId)), 1);
  // Five submissions, one final attempted: the repeats joined the job instead of running again.
  t.is(attempted.get(doc.docId), 1, "final publishes attempted");
});

test("a document split ends itself, submitted again: each repeat's final is refused, one is stored", async (t) => {
  const { nc, client, republished, attempted } = await swarm(t, {});
  const doc = await denseDoc("dup-small", 2);
  const js = jetstream(nc);
  const h = headers();
  h.set(HEADERS.docId, doc.docId);
  await Promise.all([
    js.publish(subjects.submit, doc.bytes, { headers: h }),
    js.publish(subjects.submit, doc.bytes, { headers: h }),
    client.submit(doc.bytes, { docId: doc.docId }),
    client.submit(doc.bytes, { docId: doc.docId }),
  ]);
  const first = await client.result(doc.docId, { timeoutMs: 30_000 });
  t.is(first.status, "done");
  t.is(first.chunks, 1);
  await client.submit(doc.bytes, { docId: doc.docId });
  const jsm = await jetstreamManager(nc);
  await waitFor(
    async () => {
      const ci = await jsm.consumers.info(STREAMS.submit, "split-normal");
      return ci.num_pending === 0 && ci.num_ack_pending === 0;
    },
    { message: "every submission to be handled" },
  );
  t.deepEqual(await client.result(doc.docId), first);
  // What shows no second final: the stream stored and republished one. No job exists for a repeat
  // to join, so a repeat extracts again and attempts its own final, which the stream refuses.
  t.is(await storedFinals(nc, doc.docId), 1);
  t.is(republished.get(subjects.done(doc.docId)), 1);
  const n = attempted.get(doc.docId) ?? 0;
  t.true(n >= 1 && n <= 5, `${n} final publishes attempted for five submissions`);
  t.is(await lastSeq(nc, `KV_${BUCKETS.jobs}`), 0, "no job was ever written");
});

test("reprocessing on request replaces the result: one stored, one per submission", async (t) => {
  const { nc, client, republished, attempted } = await swarm(t);
  const doc = await denseDoc("re-doc", 3);
  await client.submit(doc.bytes, { docId: doc.docId });
  const first = await client.result(doc.docId, { timeoutMs: 30_000 });
  await client.submit(doc.bytes, { docId: doc.docId, reprocess: true });
  const second = await waitFor(
    async () => {
      const r = await client.result(doc.docId, { timeoutMs: 2000 });
      return r.timings.submittedAt !== first.timings.submittedAt ? r : undefined;
    },
    { message: "the reprocessed result" },
  );
  t.is(second.status, "done");
  t.deepEqual(second.pages, first.pages);
  t.is(await storedFinals(nc, doc.docId), 1);
  await waitFor(() => republished.get(subjects.done(doc.docId)) === 2, {
    message: "two republished results",
  });
  // The first run's final; the reprocess's first attempt, refused by its own mark in the done
  // stream (it expects nothing of the document), then repeated expecting the mark and stored.
  t.is(attempted.get(doc.docId), 3, "one final per run, the reprocess's after its mark");
});

test("duplicated chunk results are counted once", async (t) => {
  const { nc, client } = await swarm(t);
  const js = jetstream(nc);
  const progress: number[] = [];
  let total = 0;
  nc.subscribe(subjects.eventsAll, {
    callback: (_e, m) => {
      const e = decodeJson(SwarmEvent, m.data);
      if (e.ok && e.value.type === "doc.progress" && e.value.docId === "dup-results") {
        progress.push(e.value.pagesDone);
        total = e.value.pageCount;
      }
    },
  });
  // Echo every extract result of the document a second time, without a message id (so the stream
  // keeps the copy and the coordinator sees it twice).
  nc.subscribe(subjects.results("dup-results"), {
    callback: (_e, m) => {
      const r = decodeJson(TaskResult, m.data);
      if (r.ok && r.value.stage === "extract") void js.publish(m.subject, m.data).catch(() => {});
    },
  });
  const doc = await denseDoc("dup-results", 8);
  await client.submit(doc.bytes, { docId: doc.docId });
  const r = await client.result(doc.docId, { timeoutMs: 30_000 });
  t.is(r.status, "done");
  t.is(r.pages.length, 8);
  const jobs = await new Kvm(nc).open(BUCKETS.jobs);
  const e = await jobs.get(doc.docId);
  const job = decodeJson(Job, e!.value);
  t.true(job.ok);
  if (job.ok) {
    t.is(job.value.pagesDone, 8);
    // Each chunk counted once: every extract task done, pages not counted twice.
    const extracts = Object.values(job.value.tasks).filter((x) => x.stage === "extract");
    t.is(extracts.length, job.value.chunks.length);
    t.true(extracts.every((x) => x.state === "done"));
  }
  t.is(total, 8);
  t.true(
    progress.every((p) => p <= 8),
    `progress never exceeds the page count: ${progress.join(",")}`,
  );
});

test("a job change judged a no-op on a stale cached copy is judged again on the stored job", async (t) => {
  const { nc } = await startTopology(t);
  const kv = await new Kvm(nc).open(BUCKETS.jobs);
  const job: Job = {
    v: 1,
    docId: "stale-doc",
    runId: "a",
    kind: "document",
    status: "running",
    priority: "normal",
    source: null,
    pipeline: ["split", "extract", "merge"],
    object: { bucket: "docswarm-docs", name: "stale-doc.a", size: 1 },
    pageCount: 1,
    meta: {
      title: null,
      author: null,
      subject: null,
      keywords: null,
      creator: null,
      producer: null,
      creationDate: null,
      modDate: null,
      pdfVersion: null,
      pageCount: 1,
    },
    chunks: [{ index: 0, firstPage: 1, lastPage: 1 }],
    tasks: {
      "extract.0": {
        stage: "extract",
        index: 0,
        deps: [],
        state: "done",
        inputMode: "static",
        mode: "process",
      },
      "merge.0": {
        stage: "merge",
        index: 0,
        deps: ["extract.0"],
        state: "released",
        inputMode: "static",
        mode: "process",
      },
    },
    pagesDone: 1,
    stageMs: {},
    submittedAt: 1,
    updatedAt: 1,
  };
  const rev = await kv.create(job.docId, JSON.stringify(job));
  const store = new JobStore(kv);
  t.is((await store.load(job.docId))?.job.runId, "a"); // cached
  // A reprocess replaces the job with run b behind the store's back.
  await kv.update(
    job.docId,
    JSON.stringify({
      ...job,
      runId: "b",
      tasks: {
        "extract.0": { ...job.tasks["extract.0"]!, state: "released" },
        "merge.0": { ...job.tasks["merge.0"]!, state: "pending" },
      },
      pagesDone: 0,
    }),
    rev,
  );
  // A chunk result of run b: on the cached copy (run a) it looks like nothing to do.
  const v = await store.update(job.docId, (j) => {
    const x = j.tasks["extract.0"]!;
    if (j.runId !== "b" || x.state === "done") return undefined;
    x.state = "done";
    return { ...j, pagesDone: 1 };
  });
  t.is(v?.job.runId, "b");
  t.is(v?.job.tasks["extract.0"]?.state, "done");
  const stored = decodeJson(Job, (await kv.get(job.docId))!.value);
  t.true(stored.ok && stored.value.tasks["extract.0"]?.state === "done" && stored.value.runId === "b");
});
