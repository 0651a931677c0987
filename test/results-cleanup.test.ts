// A finished document's task results are removed without touching anyone else's: a result that is
// delivered but not acked yet (held by a leader that was deposed before it acked, or nak'ed) must
// still be redelivered after another document's cleanup. With a purge by subject, nats-server
// (2.15.1) moved the coordinator consumer's ack floor past such results and dropped them as acked,
// so their documents never finished (partition seed 2: chunk results stored, jobs stuck with those
// chunks `released`). The cleanup deletes by sequence now (coordinator/progress.ts), the sequences
// the job recorded as each result was counted (split's result goes when it is announced).
import { type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { decodeJson, Job } from "../schemas/index.ts";
import { BUCKETS, COORDINATOR_CONSUMER, STREAMS, subjects } from "../streams/index.ts";
import { assertDone } from "./support/assert.ts";
import { knownDoc } from "./support/pdf.ts";
import { startSwarm, startTopology } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

test("results awaiting redelivery survive another document's cleanup and are counted", async (t) => {
  t.timeout(120_000);
  const topology = { coordinatorAckWaitMs: 2000 };
  const { nc, url } = await startTopology(t, topology);
  const jsm = await jetstreamManager(nc);
  // Pages one chunk each: two-page documents take the job's path (whose end cleans up), one-page
  // documents end in split.
  const host = await AgentHost.start({
    servers: url,
    agents: 2,
    processing: { chunkMaxPages: 1, busyWholeDocumentMaxPages: 0 },
  });
  t.teardown(() => host.close({ abandonPulls: true }));
  const client = new DocswarmClient(nc);
  const [held, finished, next] = await Promise.all([
    knownDoc("cleanup-held", 2),
    knownDoc("cleanup-finished", 2),
    knownDoc("cleanup-next", 1),
  ]);

  // No coordinator yet: the held document's split and chunk results wait in the results stream.
  await client.submit(held.bytes, { docId: held.docId });
  const stored = async (docId: string) => {
    const info = await jsm.streams.info(STREAMS.results, { subjects_filter: subjects.results(docId) });
    return Object.values(info.state.subjects ?? {}).reduce((n, c) => n + c, 0);
  };
  await waitFor(async () => (await stored(held.docId)) === 3, { message: "split + 2 chunk results stored" });
  // Taken from the coordinator's consumer as a leader deposed before it acked would have them:
  // pending, kept in progress until the other documents are through.
  const consumer = await jetstream(nc).consumers.get(STREAMS.results, COORDINATOR_CONSUMER);
  const taken: JsMsg[] = [];
  for await (const m of await consumer.fetch({ max_messages: 3, expires: 5000 })) taken.push(m);
  // The two chunks run on two agents at once, so their results are stored in either order.
  t.deepEqual(
    taken.map((m) => m.subject).sort(),
    ["extract.0", "extract.1", "split.0"].map((k) => subjects.result(held.docId, k)),
  );
  const working = setInterval(() => {
    for (const m of taken) m.working();
  }, 400);
  t.teardown(() => clearInterval(working));

  const coordinator = await Coordinator.start({ servers: url, topology });
  t.teardown(() => coordinator.close());
  // Another document runs its whole job and is cleaned up while those three are pending...
  await client.submit(finished.bytes, { docId: finished.docId });
  assertDone(t, await client.result(finished.docId, { timeoutMs: 30_000 }), finished);
  await waitFor(async () => (await stored(finished.docId)) === 0, {
    message: "the finished document's results removed",
  });
  // ... and a later result is acked (with the purge, this ack moved the floor past the held ones).
  await client.submit(next.bytes, { docId: next.docId });
  assertDone(t, await client.result(next.docId, { timeoutMs: 30_000 }), next);
  await waitFor(
    async () => {
      const ci = await jsm.consumers.info(STREAMS.results, COORDINATOR_CONSUMER);
      return ci.num_pending === 0 && ci.num_ack_pending === taken.length && ci;
    },
    { message: "everything acked but the three held results, which are still pending" },
  );

  // Let go: they are redelivered to the coordinator, which counts them, and the document finishes.
  clearInterval(working);
  assertDone(t, await client.result(held.docId, { timeoutMs: 30_000 }), held);
  await waitFor(async () => (await stored(held.docId)) === 0, { message: "its results removed in turn" });
});

test("a finished job's results are deleted by the sequences its job recorded, split's once announced", async (t) => {
  t.timeout(60_000);
  // One page per chunk: three extract results, merge's and split's are stored for the document.
  const s = await startSwarm(t, { processing: { chunkMaxPages: 1, busyWholeDocumentMaxPages: 0 } });
  const doc = await knownDoc("cleanup-recorded", 3);
  // The job's writes as they happen (the finished job may leave the bucket before a read).
  const jobs = await new Kvm(s.js).open(BUCKETS.jobs);
  const written: Job[] = [];
  const watch = await jobs.watch({ key: doc.docId });
  t.teardown(() => watch.stop());
  void (async () => {
    for await (const e of watch) {
      const j = e.value.length > 0 ? decodeJson(Job, e.value) : undefined;
      if (j?.ok) written.push(j.value);
    }
  })();
  await s.client.submit(doc.bytes, { docId: doc.docId });
  assertDone(t, await s.client.result(doc.docId, { timeoutMs: 30_000 }), doc);
  await waitFor(async () => written.some((j) => j.status === "done"), {
    message: "the job's last write seen",
  });
  const done = written.find((j) => j.status === "done")!;
  const seqs = Object.entries(done.tasks).map(([key, task]) => [key, task.resultSeq] as const);
  t.deepEqual(seqs.map(([key]) => key).sort(), ["extract.0", "extract.1", "extract.2", "merge.0"]);
  t.true(
    seqs.every(([, seq]) => typeof seq === "number"),
    `every task records its result's sequence: ${JSON.stringify(seqs)}`,
  );
  t.is(new Set(seqs.map(([, seq]) => seq)).size, seqs.length, "one result each");
  // Deleted by exactly those sequences (a wrong one would leave a result stored).
  await waitFor(
    async () => {
      const info = await s.jsm.streams.info(STREAMS.results, {
        subjects_filter: subjects.results(doc.docId),
      });
      return info.state.subjects === undefined || Object.keys(info.state.subjects).length === 0;
    },
    { message: "every result of the document removed" },
  );
});
