// A PDF that makes pdf.js spin: one small page whose content stream inflates to four million text
// operators (pdf.js needs seconds and hundreds of MB on it, superlinearly more for bigger ones). With a
// short time limit the watchdog terminates the agent thread each time, the host restarts it, the
// document's one task (split, which extracts a document this small itself) is dead-lettered after
// max_deliver and the document fails with MAX_DELIVERIES while the host keeps serving. Requeued once
// the limit is raised, the same submission completes.
import { jetstream } from "@nats-io/jetstream";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient, listDeadLetters, requeueDeadLetter } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { textBombPdf } from "./support/hostile-pdfs.ts";
import { denseDoc } from "./support/pdf.ts";
import { startTopology } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const topology = { maxDeliver: 2, backoffMs: [500] };

test("a parser-spinning PDF is stopped by the watchdog, dead-lettered, and completes when requeued with a higher limit", async (t) => {
  const { nc, url } = await startTopology(t, topology);
  const coordinator = await Coordinator.start({ servers: url });
  t.teardown(() => coordinator.close());
  const logs: string[] = [];
  const strict = await AgentHost.start({
    servers: url,
    agents: 1,
    topology,
    // Long enough for opening the document (PDFium: ~80 ms quiet, several times that under load:
    // a 100 ms limit let the task stop itself cleanly before the page, TASK_TIMEOUT instead of the
    // watchdog), far below the ~5 s the page spins, so the watchdog (limit + 1 s) always ends it.
    processing: { taskTimeoutMs: 700 },
    // Counted before the ordinary document below is submitted: only the bomb's task (split, which
    // extracts it; held under the submission's message id or stream sequence) is terminated.
    onLog: (_l, msg) => {
      logs.push(msg);
    },
  });
  t.teardown(() => strict.close({ abandonPulls: true }));
  const client = new DocswarmClient(nc);
  const bomb = textBombPdf(4_000_000);
  t.true(bomb.length < 64 * 1024, `a small file (${bomb.length} bytes)`);

  await client.submit(bomb, { docId: "text-bomb" });
  const failed = await client.result("text-bomb", { timeoutMs: 60_000 });
  t.is(failed.status, "failed");
  t.is(failed.error?.code, "MAX_DELIVERIES");
  // The watchdog stopped it; each of its 2 deliveries ended its agent (the dead letter below says
  // 2), the second by the watchdog or, on a loaded machine, by the thread dying in the bomb first.
  const terminations = logs.filter((m) => m === "task exceeded its time limit; terminating the agent").length;
  t.true(terminations >= 1 && terminations <= 2, `${terminations} terminations`);
  t.is(strict.size, 1, "the host still runs its agent");

  // The same host still processes ordinary documents.
  const good = await denseDoc("after-bomb", 2);
  await client.submit(good.bytes, { docId: good.docId });
  t.is((await client.result(good.docId, { timeoutMs: 30_000 })).status, "done");

  const js = jetstream(nc);
  const [dead] = await listDeadLetters(js, { stage: "split" });
  t.like(dead, { stage: "split", docId: "text-bomb", code: "MAX_DELIVERIES", deliveries: 2 });

  // Raise the limit (a new host), requeue: the submission (with its bytes) is published again.
  await strict.close({ abandonPulls: true });
  const patient = await AgentHost.start({ servers: url, agents: 1, topology });
  t.teardown(() => patient.close({ abandonPulls: true }));
  const requeued = await requeueDeadLetter(js, dead!.seq);
  t.is(requeued.action, "resubmitted-submission");
  const done = await waitFor(
    async () => {
      const r = await client.result("text-bomb", { timeoutMs: 5_000 }).catch(() => undefined);
      return r?.status === "done" ? r : undefined;
    },
    { message: "the requeued document to complete", timeoutMs: 90_000, intervalMs: 250 },
  );
  t.is(done.pageCount, 1);
});
