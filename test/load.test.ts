// Load, bounded: a few thousand tasks queued at once. What an agent holds never grows with the
// backlog: in flight per agent stays within its slots plus one long-poll delivery per source, so
// agent memory is bounded by configuration, not by queue depth. (`npm run load` queues 100,000 tasks
// or 10,000 documents against separate processes and reports their memory.)
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { ensureStage, STREAMS, taskSources } from "../streams/index.ts";
import { startTopology } from "./support/server.ts";
import { queueNoopTasks } from "./support/tasks.ts";
import { waitFor } from "./support/wait.ts";

const NOOP = new URL("../drills/stages/noop.ts", import.meta.url).pathname;

test("thousands of queued tasks complete while what agents hold stays bounded by their slots", async (t) => {
  const count = 3000;
  const agents = 2;
  const slots = 4;
  const { nc, url } = await startTopology(t);
  await ensureStage(nc, "noop");
  const coordinator = await Coordinator.start({ servers: url });
  t.teardown(() => coordinator.close());
  const js = jetstream(nc);
  await queueNoopTasks(js, count, { docs: 50, window: 500 });

  const jsm = await jetstreamManager(nc);
  const backlog0 = (await jsm.consumers.info(STREAMS.tasks, "noop-normal")).num_pending;
  t.true(backlog0 >= count, `all ${count} queued before any agent runs`);
  const host = await AgentHost.start({ servers: url, agents, slots, stages: [NOOP] });
  t.teardown(() => host.close({ abandonPulls: true }));

  let maxInFlight = 0;
  let maxHeld = 0;
  await waitFor(
    async () => {
      const ci = await jsm.consumers.info(STREAMS.tasks, "noop-normal");
      maxInFlight = Math.max(maxInFlight, ci.num_ack_pending);
      maxHeld = Math.max(maxHeld, host.heldTasks().length);
      return ci.num_pending === 0 && ci.num_ack_pending === 0;
    },
    { message: "the backlog to drain", timeoutMs: 90_000, intervalMs: 20 },
  );
  const bound = agents * (slots + taskSources("noop").length);
  t.log(`max in flight ${maxInFlight}, max held by the host ${maxHeld}, bound ${bound}, backlog ${backlog0}`);
  t.true(maxHeld <= bound, `held ${maxHeld} <= ${bound}`);
  // The server's count also includes acks still on their way, so it may run a little ahead.
  t.true(maxInFlight <= 2 * bound, `in flight ${maxInFlight} <= ${2 * bound}`);
  const results = await jsm.streams.info(STREAMS.results);
  t.is(results.state.messages, count, "one result per task");
});
