// What a finished document leaves behind, and what one result may take. A finished job leaves the
// jobs bucket after topology.jobsFinishedTtlMs (a per-key TTL written with its last update), so the
// bucket holds what is in flight plus that window; a resubmission afterwards still gets the stored
// final result from the done stream, and no second run starts. A result above
// topology.doneMaxResultBytes is stored nowhere: the document fails RESULT_TOO_LARGE instead.
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { headers } from "@nats-io/transport-node";
import test from "ava";
import { decodeJson, HEADERS, SwarmEvent } from "../schemas/index.ts";
import { BUCKETS, JOBS_CONSUMER, jsonBytes, OBJECT_STORES, STREAMS, subjects } from "../streams/index.ts";
import { assertDone, assertFailed } from "./support/assert.ts";
import { knownDoc } from "./support/pdf.ts";
import { stagePath, startSwarm } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

test("a finished job leaves the jobs bucket after its window; a resubmission gets the stored result and starts no run", async (t) => {
  // Chunks of two pages: the document takes the job's path (a smaller one split ends itself, below).
  const s = await startSwarm(t, {
    topology: { jobsFinishedTtlMs: 1000 },
    processing: { chunkMaxPages: 2, busyWholeDocumentMaxPages: 0 },
  });
  const attempted: string[] = [];
  s.nc.subscribe(subjects.final("*"), {
    callback: (_e, m) => {
      attempted.push(m.subject);
    },
  });
  const accepted: string[] = [];
  s.nc.subscribe(subjects.eventsAll, {
    callback: (_e, m) => {
      const e = decodeJson(SwarmEvent, m.data);
      if (e.ok && e.value.type === "doc.accepted") accepted.push(e.value.docId);
    },
  });
  const doc = await knownDoc("retention", 3);
  // The job's writes as they happen: with a one-second window, reading the bucket after the final
  // might already find the finished job gone.
  const jobs = await new Kvm(s.js).open(BUCKETS.jobs);
  const written: string[] = [];
  const watch = await jobs.watch({ key: doc.docId });
  (async () => {
    for await (const e of watch) {
      const job = e.operation === "PUT" ? e.json<{ status: string }>() : undefined;
      written.push(job ? job.status : e.operation);
    }
  })().catch(() => {});
  t.teardown(() => watch.stop());
  await s.client.submit(doc.bytes, { docId: doc.docId });
  assertDone(t, await s.client.result(doc.docId, { timeoutMs: 30_000 }), doc);

  // Finished: the job is gone once its window passed (the server's expiry turns it into a delete
  // marker, which the bucket's marker TTL removes in turn).
  const present = async () => (await jobs.get(doc.docId))?.operation === "PUT";
  await waitFor(async () => written.includes("done"), { message: "the finished job written" });
  await waitFor(async () => !(await present()), {
    timeoutMs: 30_000,
    intervalMs: 250,
    message: "the finished job gone after its window",
  });

  // Submitted again (not a reprocess; without a message id, so the submit stream's duplicate window
  // does not drop it): the stored result answers, no run starts.
  const h = headers();
  h.set(HEADERS.docId, doc.docId);
  await s.js.publish(subjects.submit, doc.bytes, { headers: h });
  assertDone(t, await s.client.result(doc.docId, { timeoutMs: 30_000 }), doc);
  await waitFor(
    async () => {
      // Plain docswarm.submit passes split-triage first.
      const cis = await Promise.all(
        ["split-triage", "split-normal"].map((c) => s.jsm.consumers.info(STREAMS.submit, c)),
      );
      return cis.every((ci) => ci.num_pending === 0 && ci.num_ack_pending === 0);
    },
    { message: "the second submission handled" },
  );
  t.deepEqual(accepted, [doc.docId], "one run accepted");
  t.deepEqual(attempted, [subjects.final(doc.docId)], "one final publish attempted");
  t.false(await present(), "no job recorded for the resubmission");
});

test("a document split ended itself leaves nothing in the results stream: its final announced it", async (t) => {
  const s = await startSwarm(t, { topology: { jobsFinishedTtlMs: 1000 } });
  const doc = await knownDoc("retention-small", 3);
  // Seen as published rather than read from the stream afterwards (on a layout before 4 split's
  // result went out after the final, with its own expiry).
  const published: string[] = [];
  s.nc.subscribe(subjects.results(doc.docId), { callback: (_e, m) => void published.push(m.subject) });
  const done: string[] = [];
  s.nc.subscribe(subjects.event("doc.done", ">"), { callback: (_e, m) => void done.push(m.subject) });
  await s.nc.flush();
  await s.client.submit(doc.bytes, { docId: doc.docId });
  assertDone(t, await s.client.result(doc.docId, { timeoutMs: 30_000 }), doc);
  await waitFor(async () => done.length > 0, { message: "doc.done from the coordinator" });
  t.deepEqual(published, [], "no result published");
  const results = await s.jsm.streams.info(STREAMS.results, { subjects_filter: subjects.results(doc.docId) });
  t.is(results.state.messages, 0);
  t.is((await s.jsm.streams.info(`KV_${BUCKETS.jobs}`)).state.last_seq, 0, "no job was ever written");
});

test("a result above topology.doneMaxResultBytes is stored nowhere: the document fails RESULT_TOO_LARGE", async (t) => {
  const s = await startSwarm(t, { topology: { doneMaxResultBytes: 1024 } });
  const doc = await knownDoc("too-large", 2);
  await s.client.submit(doc.bytes, { docId: doc.docId });
  const r = assertFailed(
    t,
    await s.client.result(doc.docId, { timeoutMs: 30_000 }),
    doc.docId,
    "RESULT_TOO_LARGE",
    /above the per-result cap of 1024/,
  );
  t.deepEqual(r.pages, []);
  t.is(r.pagesObject, undefined);
  t.is(r.pageCount, 2, "what is known about the document stays");
  const results = await new Objm(s.js).open(OBJECT_STORES.results);
  const stored: string[] = [];
  for (const o of await results.list()) stored.push(o.name);
  t.deepEqual(stored, [], "nothing went to the results object store");
  const done = await s.jsm.streams.info(STREAMS.done);
  t.is(done.state.messages, 1);
  t.true(done.state.bytes < 4096, `the stored failure is small (${done.state.bytes} bytes)`);
});

test("a DAG job that left the jobs bucket: submitting its id again starts no run", async (t) => {
  const s = await startSwarm(t, {
    topology: { jobsFinishedTtlMs: 1000 },
    stages: [stagePath("square"), stagePath("sum")],
  });
  const attempted: string[] = [];
  s.nc.subscribe(subjects.final("*"), {
    callback: (_e, m) => {
      attempted.push(m.subject);
    },
  });
  const spec = {
    v: 1 as const,
    jobId: "retention-dag",
    tasks: [{ key: "square.1", stage: "square", input: 3 }],
  };
  await s.client.submitJob(spec);
  t.deepEqual((await s.client.jobResult(spec.jobId, { timeoutMs: 30_000 })).outputs, { "square.1": 9 });
  const jobs = await new Kvm(s.js).open(BUCKETS.jobs);
  await waitFor(async () => (await jobs.get(spec.jobId))?.operation !== "PUT", {
    timeoutMs: 30_000,
    intervalMs: 250,
    message: "the finished DAG job gone after its window",
  });
  // Again, raw (no message id): the coordinator finds the stored result and starts nothing.
  await s.js.publish(subjects.jobSubmit, jsonBytes(spec));
  await waitFor(
    async () => {
      const ci = await s.jsm.consumers.info(STREAMS.submit, JOBS_CONSUMER);
      return ci.num_pending === 0 && ci.num_ack_pending === 0;
    },
    { message: "the second submission handled" },
  );
  t.false((await jobs.get(spec.jobId))?.operation === "PUT", "no job recorded again");
  t.deepEqual(attempted, [subjects.final(spec.jobId)], "one final publish attempted");
});
