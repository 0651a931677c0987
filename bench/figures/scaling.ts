// Scaling of I/O-bound tasks (a fixed wait each, no CPU) from 1 to 64 agents, one slot each, on one
// host: throughput against the ideal (agents ÷ wait), independent of how many cores there are.
import { AgentHost } from "../../agents/index.ts";
import { type BenchContext, type Figure, hostLog, STAGES } from "../context.ts";
import { CpuWindow, load } from "../cpu.ts";
import { round } from "../stats.ts";
import { TaskDriver } from "../task-driver.ts";

const WARM_TASKS_PER_AGENT = 20;

export type ScalingPoint = {
  agents: number;
  tasks: number;
  tasksPerSec: number;
  idealPerSec: number;
  efficiency: number;
  /** CPU per task of this process (host, agents, driver) and nats-server, in µs. */
  cpuUsPerTask: number;
  load: string;
};

export async function scalingFigures(
  ctx: BenchContext,
): Promise<{ figures: Figure[]; points: ScalingPoint[] }> {
  const s = ctx.profile.scaling;
  const points: ScalingPoint[] = [];
  const host = await AgentHost.start({
    servers: ctx.nats.url,
    agents: s.steps[0]!,
    stages: [STAGES.sleep.path],
    slots: 1,
    onLog: hostLog(ctx),
  });
  const stop = ctx.cleanups.push(() => host.close());
  try {
    for (const agents of s.steps) {
      if (host.size < agents) await host.spawn(agents - host.size);
      const driver = await TaskDriver.forStage(ctx.nats.nc, STAGES.sleep.name);
      try {
        // Warm up first: every agent thread has its own JIT, and a long-lived agent runs warm code.
        const warm = agents * WARM_TASKS_PER_AGENT;
        await driver.publishMany(warm, () => ({ waitMs: 1 }));
        await driver.waitFor(warm, 120_000);
        const tasks = agents * s.tasksPerAgent;
        const window = new CpuWindow(ctx.nats.serverPid);
        const t0 = performance.now();
        let next = warm;
        const lane = async () => {
          while (next < warm + tasks) await driver.publish(next++, { waitMs: s.waitMs });
        };
        await Promise.all(Array.from({ length: 64 }, lane));
        await driver.waitFor(warm + tasks, 300_000);
        let last = 0;
        for (const [i, r] of driver.results) if (i >= warm) last = Math.max(last, r.receivedAt);
        const cpu = window.end();
        const tasksPerSec = (tasks / (last - t0)) * 1000;
        const idealPerSec = (agents * 1000) / s.waitMs;
        const p: ScalingPoint = {
          agents,
          tasks,
          tasksPerSec,
          idealPerSec,
          efficiency: tasksPerSec / idealPerSec,
          cpuUsPerTask: (((cpu.processCores + (cpu.serverCores || 0)) * cpu.wallMs) / tasks) * 1000,
          load: load(),
        };
        points.push(p);
        ctx.log(
          `scaling: ${agents} agents: ${tasksPerSec.toFixed(1)} tasks/s of ideal ${idealPerSec.toFixed(0)} ` +
            `(${(100 * p.efficiency).toFixed(1)} %), ${p.cpuUsPerTask.toFixed(0)} µs CPU per task ` +
            `(this process ${cpu.processCores.toFixed(2)} cores, nats-server ${(cpu.serverCores || 0).toFixed(2)}), load ${p.load}`,
        );
      } finally {
        await driver.close();
      }
    }
  } finally {
    await stop.run();
  }
  const last = points[points.length - 1]!;
  const figures: Figure[] = [
    {
      key: "scalingEfficiency64",
      figure: `I/O-bound tasks (${s.waitMs} ms wait), ${last.agents} agents: throughput ÷ ideal`,
      value: round(last.efficiency),
      unit: "",
      reference: {
        label: `ideal: ${last.agents} agents × 1000/${s.waitMs}`,
        value: round(last.idealPerSec),
        unit: "tasks/s",
      },
      ratio: round(last.efficiency),
      goal: { label: "≥ 0.90", met: last.efficiency >= 0.9 },
      seedBar: "linear",
      note: `${last.tasksPerSec.toFixed(1)} tasks/s measured; steps ${points
        .map((p) => `${p.agents}: ${(100 * p.efficiency).toFixed(0)} %`)
        .join(", ")}`,
    },
  ];
  return { figures, points };
}
