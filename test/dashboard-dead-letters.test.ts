// The dashboard's dead-letter table shows why an entry is there: the code and reason the
// coordinator writes on it, the same `docswarm dlq` reads from the entry. The dashboard builds it from
// the coordinator's task.deadlettered events, never from the entries (the observer may not read them),
// and an entry requeued out of the DLQ leaves it.
import { jetstream } from "@nats-io/jetstream";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient, listDeadLetters, requeueDeadLetter } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { readRecentDeadLetters } from "../dashboard/index.ts";
import { ensureStage } from "../streams/index.ts";
import { startTopology } from "./support/server.ts";
import { PROBE_STAGE, publishTask } from "./support/tasks.ts";
import { waitFor } from "./support/wait.ts";

const topology = { maxDeliver: 2, backoffMs: [200] };

test("a dead letter on the dashboard carries the coordinator's code and reason", async (t) => {
  const { nc, url } = await startTopology(t, topology);
  await ensureStage(nc, "probe", topology);
  const coordinator = await Coordinator.start({ servers: url });
  t.teardown(() => coordinator.close());
  const host = await AgentHost.start({ servers: url, agents: 1, stages: [PROBE_STAGE], topology });
  t.teardown(() => host.close({ abandonPulls: true }));

  const task = await publishTask(nc, "probe", "dead-on-dashboard", { crashAlways: true });
  const final = await new DocswarmClient(nc).result("dead-on-dashboard", { timeoutMs: 30_000 });
  t.is(final.error?.code, "MAX_DELIVERIES");

  const jsm = await jetstream(nc).jetstreamManager();
  const [shown] = await waitFor(async () => {
    const recent = await readRecentDeadLetters(jsm, 20);
    return recent.length > 0 && recent;
  });
  const [listed] = await listDeadLetters(jetstream(nc));
  t.like(shown, { stage: "probe", taskId: task.taskId, docId: "dead-on-dashboard", code: "MAX_DELIVERIES" });
  t.truthy(shown?.reason, "a reason, not the table's '–'");
  t.is(shown?.reason, listed?.reason, "the reason `docswarm dlq` shows");
  t.regex(shown?.reason ?? "", /deliver/i);
  t.is(shown?.seq, listed?.seq, "the entry's DLQ sequence");

  // Requeued, the task crashes again: a new entry, and the old one is gone from the list.
  const first = shown?.seq ?? 0;
  await requeueDeadLetter(jetstream(nc), first);
  const again = await waitFor(async () => {
    const recent = await readRecentDeadLetters(jsm, 20);
    return recent.length > 0 && recent.every((d) => d.seq !== first) && recent;
  });
  t.is(again.length, 1);
  t.like(again[0], { stage: "probe", taskId: task.taskId, code: "MAX_DELIVERIES" });
  t.true((again[0]?.seq ?? 0) > first);
});
