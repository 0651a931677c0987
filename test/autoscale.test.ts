// Dynamic scaling: the autoscaler raises a stage's desired agents under a burst and lowers it after
// a cooldown; an autoscaling host spawns and drains agents to follow, and nothing is lost or run
// twice (every task's output is in the job result exactly once).
import test from "ava";
import { planStep } from "../agents/autoscale.ts";
import { decide } from "../coordinator/index.ts";
import {
  type AgentRegistration,
  AutoscalerConfig,
  decodeJson,
  type JobSpecInput,
  SwarmEvent,
} from "../schemas/index.ts";
import { subjects } from "../streams/index.ts";
import { stagePath, startSwarm } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const agent = (id: string, status: AgentRegistration["status"], stages = ["nap"], hostId = "h1") =>
  ({ agentId: id, hostId, status, stages }) as AgentRegistration;

test("decide: up at once within max, down only after the cooldown, never outside min/max", (t) => {
  const cfg = AutoscalerConfig.parse({
    tasksPerAgent: 2,
    min: 1,
    max: 5,
    upCooldownMs: 1000,
    downCooldownMs: 5000,
  });
  const one = [agent("a", "busy")];
  t.is(decide(cfg, "nap", 40, one, undefined, 0).desired, 5, "clamped to max");
  t.is(decide(cfg, "nap", 0, one, undefined, 0).desired, 1, "never below min");
  const mem = { desired: 2, changedAt: 0, lowSince: undefined };
  t.is(decide(cfg, "nap", 8, one, mem, 500).desired, 2, "up waits out the cooldown");
  t.is(decide(cfg, "nap", 8, one, mem, 1500).desired, 4);
  const idle = [agent("a", "idle"), agent("b", "idle")];
  const first = decide(cfg, "nap", 0, idle, mem, 10_000);
  t.is(first.desired, 2, "down is held");
  t.is(decide(cfg, "nap", 0, idle, { ...mem, lowSince: first.lowSince }, 16_000).desired, 1);
});

test("planStep: a host takes its share of the difference, within its own min/max", (t) => {
  const d = (desired: number) => new Map([["nap", { desired } as never]]);
  const live = [agent("a", "busy"), agent("b", "busy", ["nap"], "h2")];
  t.deepEqual(planStep("h1", ["nap"], 1, d(6), live, { min: 1, max: 8 }).spawn, 2, "4 missing over 2 hosts");
  t.deepEqual(planStep("h1", ["nap"], 1, d(6), live, { min: 1, max: 2 }).spawn, 1, "host max");
  t.deepEqual(
    planStep("h1", ["nap"], 3, d(1), [...live, agent("c", "idle"), agent("d", "idle")], { min: 1, max: 8 })
      .drain,
    2,
  );
  t.deepEqual(planStep("h1", ["nap"], 1, d(0), live, { min: 1, max: 8 }).drain, 0, "host min");
});

test("a burst adds agents, the quiet after it removes them, and every task ran exactly once", async (t) => {
  const swarm = await startSwarm(t, {
    agents: 1,
    stages: [stagePath("nap")],
    autoscale: {
      tasksPerAgent: 2,
      min: 1,
      max: 4,
      intervalMs: 250,
      upCooldownMs: 250,
      downCooldownMs: 1000,
      hostMin: 1,
      hostMax: 4,
    },
  });
  const events: string[] = [];
  const sub = swarm.nc.subscribe(subjects.eventsAll, {
    callback: (_e, m) => {
      const e = decodeJson(SwarmEvent, m.data);
      if (
        e.ok &&
        (e.value.type === "agent.spawned" ||
          e.value.type === "agent.drained" ||
          e.value.type === "scale.decided")
      ) {
        events.push(e.value.type);
      }
    },
  });
  t.teardown(() => sub.unsubscribe());
  const tasks: JobSpecInput["tasks"] = Array.from({ length: 40 }, (_, i) => ({
    key: `nap.${i}`,
    stage: "nap",
    input: { ms: 150, tag: `t${i}` },
  }));
  await swarm.client.submitJob({ v: 1, jobId: "burst", tasks });
  await waitFor(() => swarm.host.size > 1, { timeoutMs: 30_000, message: "agents added for the burst" });
  const r = await swarm.client.jobResult("burst", { timeoutMs: 120_000 });
  t.is(r.status, "done");
  t.deepEqual(
    Object.values(r.outputs)
      .map((o) => (o as { tag: string }).tag)
      .sort(),
    tasks.map((x) => (x.input as { tag: string }).tag).sort(),
  );
  await waitFor(() => swarm.host.size === 1, { timeoutMs: 30_000, message: "scaled back to one agent" });
  // agent.drained follows once the drained agent has finished and exited.
  await waitFor(() => events.includes("agent.drained"), {
    timeoutMs: 30_000,
    message: "agent.drained event",
  });
  t.true(events.includes("agent.spawned"));
  t.true(events.includes("scale.decided"));
});
