// Reprocessing replaces a document's one final result with the new run's outcome, whatever happens:
// a reprocess that fails in split ends the document with that failure (it used to delete the old
// result and have its failure dropped, leaving no result) (issue 13).
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import test, { type ExecutionContext } from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { readFinal } from "../jobs/index.ts";
import { decodeJson, type FinalResult, HEADERS, TaskResult } from "../schemas/index.ts";
import { STREAMS, subjects } from "../streams/index.ts";
import { denseDoc } from "./support/pdf.ts";
import { startTopology } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const TIMEOUT_MS = 60_000;

/** Every final publish attempted, per document: a core subscriber sees the refused ones too. */
function countAttempts(nc: NatsConnection): Map<string, number> {
  const attempted = new Map<string, number>();
  nc.subscribe(subjects.final("*"), {
    callback: (_e, m) => {
      const id = m.subject.slice(subjects.final("").length);
      attempted.set(id, (attempted.get(id) ?? 0) + 1);
    },
  });
  return attempted;
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
  const attempted = countAttempts(nc);
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

  // Both failures were delivered twice: four runs wrote a final each, the two repeats tried again
  // and were refused (the document had its final), and one is stored.
  await waitFor(() => echoed.size === 2, { message: "both split failures echoed", timeoutMs: TIMEOUT_MS });
  const jsm = await jetstreamManager(nc);
  await waitFor(
    async () => {
      const ci = await jsm.consumers.info(STREAMS.results, "coordinator");
      return ci.num_pending === 0 && ci.num_ack_pending === 0;
    },
    { message: "the coordinator to have handled every result", timeoutMs: TIMEOUT_MS },
  );
  t.is(attempted.get(doc.docId), 6, "one final per run, and one refused per repeated failure");
  t.is(await storedCount(nc, doc.docId), 1);
  t.is((await readFinal(js, doc.docId))?.error?.code, "HEADER_INVALID");
});
