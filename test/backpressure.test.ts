// Backpressure: the submit stream discards new messages at its limit; the client retries with
// backoff, reports each retry, and gives up with SWARM_FULL; once agents drain the backlog, a
// retrying submission gets in and everything completes.
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { ClientError, DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { makeCorpus } from "./support/pdf.ts";
import { startTopology } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

test("a full swarm pushes back: the client retries with backoff, reports SWARM_FULL, and gets in once there is room", async (t) => {
  const topology = { submitMaxMsgs: 3 };
  const { nc, url } = await startTopology(t, topology);
  const coordinator = await Coordinator.start({ servers: url });
  t.teardown(() => coordinator.close());
  const client = new DocswarmClient(nc);
  const docs = await makeCorpus(5, { seed: 3, maxPages: 2 });
  for (const d of docs.slice(0, 3)) await client.submit(d.bytes, { docId: d.docId });

  const retries: number[] = [];
  const err = await t.throwsAsync(
    client.submit(docs[3]!.bytes, {
      docId: docs[3]!.docId,
      fullRetryMs: 1500,
      onFull: (_attempt, delayMs) => retries.push(delayMs),
    }),
    { instanceOf: ClientError },
  );
  t.is(err?.code, "SWARM_FULL");
  t.true(retries.length >= 2, `retried ${retries.length} times`);
  for (let i = 1; i < retries.length; i++) t.true(retries[i]! >= retries[i - 1]!, "backoff grows");

  // A submission that keeps retrying gets in once agents start draining the backlog.
  const waiting: number[] = [];
  const late = client.submit(docs[4]!.bytes, {
    docId: docs[4]!.docId,
    fullRetryMs: 60_000,
    onFull: (attempt) => waiting.push(attempt),
  });
  await waitFor(() => waiting.length > 0, { message: "the submission to be held back" });
  const host = await AgentHost.start({ servers: url, agents: 1, topology });
  t.teardown(() => host.close({ abandonPulls: true }));
  await late;
  for (const d of [...docs.slice(0, 3), docs[4]!]) {
    t.is((await client.result(d.docId, { timeoutMs: 30_000 })).status, "done");
  }
});
