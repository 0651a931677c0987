// Recovery: the time from an agent dying mid-task to that task running again on another agent.
//  - thread: the agent thread ends mid-task (the stage exits its thread, as a crash would); the host
//    hands its tasks back at once.
//  - process: a whole agent host process is SIGKILLed mid-task; nobody hands anything back, so
//    JetStream redelivers when the task's ack wait (2 s after the last in-progress ack) runs out.
// Each task must still produce exactly one result.
import { setTimeout as sleep } from "node:timers/promises";
import { nuid } from "@nats-io/transport-node";
import { AgentHost } from "../../agents/index.ts";
import { AgentChild } from "../agent-child.ts";
import { type BenchContext, type Figure, STAGES } from "../context.ts";
import { load } from "../cpu.ts";
import type { SleepEvent } from "../stages/sleep.ts";
import { max, median, percentile, round } from "../stats.ts";
import { TaskDriver } from "../task-driver.ts";

export type RecoverySample = { kind: "thread" | "process"; ms: number; load: string };

class Events {
  readonly list: SleepEvent[] = [];
  #waiters: Array<() => void> = [];

  push(e: SleepEvent): void {
    this.list.push(e);
    const w = this.#waiters;
    this.#waiters = [];
    for (const fn of w) fn();
  }

  async find(pred: (e: SleepEvent) => boolean, timeoutMs: number): Promise<SleepEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.list.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error("recovery: an expected task start did not happen in time");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

export async function recoveryFigures(
  ctx: BenchContext,
): Promise<{ figures: Figure[]; samples: RecoverySample[]; tasks: number; duplicates: number }> {
  const r = ctx.profile.recovery;
  const announce = `bench.recovery.${nuid.next()}`;
  const events = new Events();
  const decoder = new TextDecoder();
  const sub = ctx.nats.nc.subscribe(announce, {
    callback: (err, m) => {
      if (!err) events.push(JSON.parse(decoder.decode(m.data)) as SleepEvent);
    },
  });
  await ctx.nats.nc.flush();
  const samples: RecoverySample[] = [];
  // Survivors: three idle agents in this process.
  const host = await AgentHost.start({
    servers: ctx.nats.url,
    agents: 3,
    stages: [STAGES.sleep.path],
    slots: 1,
  });
  const stopHost = ctx.cleanups.push(() => host.close());
  const driver = await TaskDriver.forStage(ctx.nats.nc, STAGES.sleep.name);
  let index = 0;
  try {
    for (let k = 0; k < r.threadKills; k++) {
      const i = index++;
      const taskId = `${i}`;
      await driver.publish(i, { waitMs: 20, announce, crashAfterMs: 100 + 50 * k });
      const crash = await events.find((e) => e.kind === "crash" && e.taskId.endsWith(`.${taskId}`), 30_000);
      const again = await events.find(
        (e) => e.kind === "start" && e.delivery > 1 && e.taskId === crash.taskId,
        30_000,
      );
      samples.push({ kind: "thread", ms: again.at - crash.at, load: load() });
      ctx.log(
        `recovery: agent thread died, task running again on ${again.agentId} after ${again.at - crash.at} ms`,
      );
      await driver.waitFor(index, 30_000);
      await sleep(300);
    }
    for (let k = 0; k < r.processKills; k++) {
      const child = await AgentChild.start(
        { servers: ctx.nats.url, agents: 1, stages: [STAGES.sleep.path], slots: 1 },
        ctx.cleanups,
      );
      try {
        await sleep(300);
        // Publish until a task starts in the victim process (the survivors finish theirs at once).
        let victim: SleepEvent | undefined;
        for (let attempt = 0; attempt < 50 && !victim; attempt++) {
          const i = index++;
          await driver.publish(i, { waitMs: 10, announce, victimPid: child.pid, victimWaitMs: 120_000 });
          const started = await events.find((e) => e.kind === "start" && e.taskId.endsWith(`.${i}`), 30_000);
          if (started.pid === child.pid) victim = started;
          else await driver.waitFor(index, 30_000);
        }
        if (!victim) throw new Error("recovery: no task reached the victim process");
        const killedAt = Date.now();
        child.kill();
        const again = await events.find(
          (e) => e.kind === "start" && e.delivery > 1 && e.taskId === victim.taskId,
          30_000,
        );
        samples.push({ kind: "process", ms: again.at - killedAt, load: load() });
        ctx.log(
          `recovery: agent process SIGKILLed, task running again on ${again.agentId} after ${again.at - killedAt} ms`,
        );
        await driver.waitFor(index, 30_000);
      } finally {
        await child.close();
      }
    }
    await sleep(500); // a late duplicate result would show up here
  } finally {
    sub.unsubscribe();
    await driver.close();
    await stopHost.run();
  }
  const missing = index - driver.results.size;
  if (missing > 0) throw new Error(`recovery: ${missing} tasks without a result`);
  const thread = samples.filter((s) => s.kind === "thread").map((s) => s.ms);
  const proc = samples.filter((s) => s.kind === "process").map((s) => s.ms);
  const all = samples.map((s) => s.ms);
  const worst = max(all);
  const figures: Figure[] = [
    {
      key: "recoveryMsMax",
      figure: "recovery after an agent is killed mid-task, worst case",
      value: round(worst),
      unit: "ms",
      reference: { label: "ack wait (JetStream's redelivery bound)", value: 2000, unit: "ms" },
      ratio: round(worst / 2000),
      goal: {
        label: "< 3000 ms, nothing lost, nothing doubled",
        met: worst < 3000 && driver.duplicates === 0,
      },
      seedBar: "< 5 s",
      note: `${all.length} kills; results: ${driver.results.size} for ${index} tasks, ${driver.duplicates} duplicates`,
    },
    {
      key: "recoveryMsThreadP50",
      figure: "recovery, agent thread dies (host survives), p50 / max",
      value: round(median(thread)),
      unit: "ms",
      note: `max ${round(max(thread))} ms over ${thread.length} kills; the host naks the dead agent's tasks at once`,
    },
    {
      key: "recoveryMsProcessP50",
      figure: "recovery, agent process SIGKILLed, p50 / max",
      value: round(median(proc)),
      unit: "ms",
      note: `max ${round(max(proc))} ms, p99 ${round(percentile(proc, 99))} ms over ${proc.length} kills; bounded by ack_wait after the last in-progress ack`,
    },
  ];
  return { figures, samples, tasks: index, duplicates: driver.duplicates };
}
