// Reprocessing replaces a document's one final result with the new run's outcome, whatever happens:
// a reprocess that fails in split ends the document with that failure (it used to delete the old
// result and have its failure dropped, leaving no result), and a writer of the replaced run that
// checked its job before the reprocess recorded its own cannot store a final result that outlives
// the takeover (issue 13).
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import test, { type ExecutionContext } from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { endDocument, JobStore, readFinal, takeOverFinal } from "../jobs/index.ts";
import { decodeJson, type FinalResult, HEADERS, type Job, TaskResult } from "../schemas/index.ts";
import { BUCKETS, STREAMS, subjects } from "../streams/index.ts";
import { denseDoc } from "./support/pdf.ts";
import { startTopology } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const TIMEOUT_MS = 60_000;

/**
 * Every final result the done stream stored, per document, as its republish shows them (what is
 * refused is not republished): the stream keeps one per document, so this is what counts.
 */
function countStored(nc: NatsConnection): Map<string, number> {
  const stored = new Map<string, number>();
  nc.subscribe(subjects.doneAll, {
    callback: (_e, m) => {
      const id = m.subject.slice(subjects.done("").length);
      stored.set(id, (stored.get(id) ?? 0) + 1);
    },
  });
  return stored;
}

/** The stored final result's message (its run is in its message id), or null. */
async function storedFinal(nc: NatsConnection, docId: string) {
  const jsm = await jetstreamManager(nc);
  return jsm.streams.getMessage(STREAMS.done, { last_by_subj: subjects.done(docId) }).catch(() => null);
}

function runOf(docId: string, msgId: string | undefined): string | undefined {
  return msgId?.slice(docId.length + 1, -".final".length);
}

async function storedCount(nc: NatsConnection, docId: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAMS.done, { subjects_filter: subjects.done(docId) });
  return info.state.subjects?.[subjects.done(docId)] ?? 0;
}

async function finalWith(
  t: ExecutionContext,
  nc: NatsConnection,
  docId: string,
  pred: (f: FinalResult) => boolean,
) {
  const js = jetstream(nc);
  return waitFor(
    async () => {
      const f = await readFinal(js, docId).catch(() => undefined);
      return f && pred(f) ? f : undefined;
    },
    { timeoutMs: TIMEOUT_MS, intervalMs: 100, message: `the final result of ${docId} (${t.title})` },
  );
}

test("a reprocess that fails in split ends the document with its failure, exactly once", async (t) => {
  const { nc, url } = await startTopology(t);
  const coordinator = await Coordinator.start({ servers: url });
  t.teardown(() => coordinator.close());
  const host = await AgentHost.start({ servers: url, agents: 2 });
  t.teardown(() => host.close({ abandonPulls: true }));
  const stored = countStored(nc);
  // Every split failure of the document is delivered to the coordinator a second time (a
  // redelivery after a crash): it must change nothing.
  const js = jetstream(nc);
  const echoed = new Set<string>();
  nc.subscribe(subjects.results("re-fail"), {
    callback: (_e, m) => {
      const r = decodeJson(TaskResult, m.data);
      if (!r.ok || r.value.stage !== "split" || r.value.status !== "failed" || echoed.has(r.value.runId))
        return;
      echoed.add(r.value.runId);
      void js.publish(m.subject, m.data).catch(() => {});
    },
  });
  const client = new DocswarmClient(nc);
  const doc = await denseDoc("re-fail", 2);
  await client.submit(doc.bytes, { docId: doc.docId });
  const first = await client.result(doc.docId, { timeoutMs: TIMEOUT_MS });
  t.is(first.status, "done");

  // Reprocess with bytes that are not a PDF: split fails after the submission asked to replace.
  const text = new TextEncoder().encode("Dear reader,\nthis is plain text, not a PDF.\n");
  await client.submit(text, { docId: doc.docId, reprocess: true });
  const failed = await finalWith(t, nc, doc.docId, (f) => f.status === "failed");
  t.is(failed.error?.code, "PDF_INVALID");
  t.is(failed.pageCount, 0);
  t.is(await storedCount(nc, doc.docId), 1);

  // Reprocessing the real bytes again succeeds: the failure is replaced in turn.
  await client.submit(doc.bytes, { docId: doc.docId, reprocess: true });
  const again = await finalWith(t, nc, doc.docId, (f) => f.status === "done");
  t.deepEqual(again.pages, first.pages);

  // A reprocess with an invalid header fails before split reads anything: the same holds.
  const h = headers();
  h.set(HEADERS.docId, doc.docId);
  h.set(HEADERS.reprocess, "true");
  h.set(HEADERS.engine, "no-such-engine");
  await js.publish(subjects.submit, doc.bytes, { headers: h });
  const invalid = await finalWith(t, nc, doc.docId, (f) => f.status === "failed");
  t.is(invalid.error?.code, "HEADER_INVALID");

  // Both failures were delivered twice; each of the four runs stored its outcome once, the
  // repeats nothing, and one final result is kept.
  await waitFor(() => echoed.size === 2, { message: "both split failures echoed", timeoutMs: TIMEOUT_MS });
  const jsm = await jetstreamManager(nc);
  await waitFor(
    async () => {
      const ci = await jsm.consumers.info(STREAMS.results, "coordinator");
      return ci.num_pending === 0 && ci.num_ack_pending === 0;
    },
    { message: "the coordinator to have handled every result", timeoutMs: TIMEOUT_MS },
  );
  t.is(stored.get(doc.docId), 4, "one stored final per run");
  t.is(await storedCount(nc, doc.docId), 1);
  t.is((await readFinal(js, doc.docId))?.error?.code, "HEADER_INVALID");
});

test("a writer of a replaced run that checked its job before the reprocess cannot store a final", async (t) => {
  const { nc, url } = await startTopology(t);
  const coordinator = await Coordinator.start({ servers: url });
  t.teardown(() => coordinator.close());
  const stored = countStored(nc);
  const client = new DocswarmClient(nc);
  const doc = await denseDoc("re-race", 2);

  const whole = await AgentHost.start({ servers: url, agents: 1 });
  await client.submit(doc.bytes, { docId: doc.docId });
  const first = await client.result(doc.docId, { timeoutMs: TIMEOUT_MS });
  const storedA = await storedFinal(nc, doc.docId);
  const runA = runOf(doc.docId, storedA?.header?.get("Nats-Msg-Id"));
  t.truthy(runA);
  await whole.close({ abandonPulls: true });

  // Only split serves: the reprocess records its job and takes the document over, then waits.
  const splitter = await AgentHost.start({ servers: url, agents: 1, stages: ["split"] });
  t.teardown(() => splitter.close({ abandonPulls: true }));
  await client.submit(doc.bytes, { docId: doc.docId, reprocess: true });
  const jsm = await jetstreamManager(nc);
  const mark = await waitFor(
    () =>
      jsm.streams.getMessage(STREAMS.done, { last_by_subj: subjects.reprocess(doc.docId) }).catch(() => null),
    { message: "the reprocess to mark the document", timeoutMs: TIMEOUT_MS },
  );
  const runB = new TextDecoder().decode(mark.data);
  t.not(runB, runA);
  // Removed right after the mark.
  await waitFor(async () => (await storedFinal(nc, doc.docId)) === null, {
    message: "the replaced run's result to be removed",
    timeoutMs: TIMEOUT_MS,
  });

  // Run A's merge checked its job before the reprocess recorded run B, and publishes now.
  const limits = { maxPayloadBytes: nc.info?.max_payload ?? 1024 * 1024, maxResultBytes: 64 * 1024 * 1024 };
  const ending = { kind: "document" as const, final: first, runId: runA! };
  const { outcome } = await endDocument(jetstream(nc), ending, limits);
  t.is(outcome, "exists", "refused");
  // One that read the done stream before the mark, too: what it expects is no longer the newest.
  const early = jetstream(nc).publish(subjects.final(doc.docId), new TextEncoder().encode("{}"), {
    msgID: `${doc.docId}.${runA}.final`,
    expect: { lastSubjectSequence: storedA!.seq, lastSubjectSequenceSubject: subjects.doneFamily(doc.docId) },
  });
  await t.throwsAsync(early, { message: /wrong last sequence/ });
  t.is(await storedFinal(nc, doc.docId), null, "nothing stored for the replaced run");

  // The reprocess finishes and stores its own result, the only one.
  const rest = await AgentHost.start({ servers: url, agents: 1, stages: ["extract", "merge"] });
  t.teardown(() => rest.close({ abandonPulls: true }));
  const second = await finalWith(
    t,
    nc,
    doc.docId,
    (f) => f.timings.submittedAt !== first.timings.submittedAt,
  );
  t.is(second.status, "done");
  t.deepEqual(second.pages, first.pages);
  t.is(runOf(doc.docId, (await storedFinal(nc, doc.docId))?.header?.get("Nats-Msg-Id")), runB);
  t.is(await storedCount(nc, doc.docId), 1);
  // Stored: run A's result, then run B's; neither stale write.
  t.is(stored.get(doc.docId), 2);
});

test("a final the replaced run stored between the reprocess's job and its mark does not outlive the takeover", async (t) => {
  const { nc } = await startTopology(t);
  const js = jetstream(nc);
  const jobs = new JobStore(await new Kvm(nc).open(BUCKETS.jobs));
  const docId = "re-window";
  const job = (runId: string): Job => ({
    v: 1,
    docId,
    runId,
    kind: "document",
    status: "running",
    priority: "normal",
    source: null,
    pipeline: ["split", "extract", "merge"],
    object: null,
    pageCount: 0,
    meta: null,
    chunks: [],
    tasks: {},
    pagesDone: 0,
    stageMs: {},
    submittedAt: 1,
    updatedAt: 1,
  });
  const final = (runId: string): FinalResult => ({
    v: 1,
    kind: "document",
    docId,
    status: "done",
    source: runId,
    pageCount: 0,
    pages: [],
    meta: null,
    timings: { submittedAt: 1, finishedAt: 2, totalMs: 1, stageMs: {} },
    chunks: 0,
  });
  const limits = { maxPayloadBytes: nc.info?.max_payload ?? 1024 * 1024, maxResultBytes: 64 * 1024 * 1024 };
  await jobs.record(job("a"), false);
  // The reprocess records run b; run a's merge, which checked its job just before, publishes
  // before the reprocess marks the document: nothing in the done stream stops it yet.
  await jobs.record(job("b"), true);
  const ending = (runId: string) => ({ kind: "document" as const, final: final(runId), runId });
  t.is((await endDocument(js, ending("a"), limits)).outcome, "published");
  // The takeover marks the document and then removes what another run stored before the mark.
  await takeOverFinal(js, docId, "b");
  t.is(await storedFinal(nc, docId), null, "run a's final is gone");
  t.is((await endDocument(js, ending("a"), limits)).outcome, "exists", "run a is refused from now on");
  t.is((await endDocument(js, ending("b"), limits)).outcome, "published");
  t.is((await readFinal(js, docId))?.source, "b");
  t.is(await storedCount(nc, docId), 1);
  // Repeated (a crashed reprocess's redelivery): nothing changes once run b's final is stored.
  await takeOverFinal(js, docId, "b");
  t.is((await readFinal(js, docId))?.source, "b");
});
