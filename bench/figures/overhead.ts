// Coordination overhead with a no-op stage: added latency per task at a fixed moderate rate
// (p50/p99), and no-op tasks/s at full speed; each against the floor (the same JetStream hops in
// plain nats.js, bench/floor.ts) measured in the same run, alternating.
import { setTimeout as sleep } from "node:timers/promises";
import { AgentHost } from "../../agents/index.ts";
import { type BenchContext, type Figure, hostLog, STAGES } from "../context.ts";
import { CpuWindow, load } from "../cpu.ts";
import { Floor, floorPipeline } from "../floor.ts";
import { median, percentile, round } from "../stats.ts";
import { TaskDriver } from "../task-driver.ts";

type System = "docswarm" | "floor";

/** Starts the agents (or floor workers) of one system; returns its stop function. */
async function startSystem(ctx: BenchContext, system: System, slots: number): Promise<() => Promise<void>> {
  if (system === "floor") {
    const floor = await Floor.start(ctx.nats.nc, ctx.nats.url, ctx.cores, slots);
    return ctx.cleanups.push(() => floor.close()).run;
  }
  const host = await AgentHost.start({
    servers: ctx.nats.url,
    agents: ctx.cores,
    stages: [STAGES.noop.path],
    slots,
    onLog: hostLog(ctx),
  });
  return ctx.cleanups.push(() => host.close()).run;
}

async function driverFor(ctx: BenchContext, system: System): Promise<TaskDriver> {
  return system === "floor"
    ? TaskDriver.start(ctx.nats.nc, floorPipeline())
    : TaskDriver.forStage(ctx.nats.nc, STAGES.noop.name);
}

/** Publishes `count` tasks at `rate` per second, one at a time; returns per-task latencies. */
async function latencyRun(ctx: BenchContext, system: System, count: number, rate: number): Promise<number[]> {
  const driver = await driverFor(ctx, system);
  try {
    // Warm up (JIT, connections) at full speed, then measure at the fixed rate.
    await driver.publishMany(200, (n) => ({ n }), 32);
    await driver.waitFor(200, 60_000);
    const intervalMs = 1000 / rate;
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const due = start + i * intervalMs;
      const now = performance.now();
      if (due > now) await sleep(due - now);
      void driver.publish(200 + i, { n: i });
    }
    await driver.waitFor(200 + count, 60_000);
    const all = driver.latencies();
    return all.slice(200);
  } finally {
    await driver.close();
  }
}

async function throughputRun(ctx: BenchContext, system: System, count: number) {
  const driver = await driverFor(ctx, system);
  try {
    await driver.publishMany(500, (n) => ({ n }));
    await driver.waitFor(500, 60_000);
    const window = new CpuWindow(ctx.nats.serverPid);
    const started = performance.now();
    let next = 500;
    const lane = async () => {
      while (next < 500 + count) await driver.publish(next++, { n: next });
    };
    await Promise.all(Array.from({ length: 256 }, lane));
    await driver.waitFor(500 + count, 300_000);
    let last = 0;
    for (const r of driver.results.values()) last = Math.max(last, r.receivedAt);
    const cpu = window.end();
    // CPU per task of everything on the path (this process and nats-server): robust to machine load.
    const cpuUsPerTask = (((cpu.processCores + (cpu.serverCores || 0)) * cpu.wallMs) / count) * 1000;
    return { perSec: (count / (last - started)) * 1000, cpu, cpuUsPerTask, duplicates: driver.duplicates };
  } finally {
    await driver.close();
  }
}

export type OverheadDetail = {
  latency: Record<System, number[]>;
  throughput: Record<System, number[]>;
  cpuUsPerTask: Record<System, number[]>;
  cpu: { agentCores: number; serverCores: number; processCores: number }[];
  load: string[];
};

export async function overheadFigures(
  ctx: BenchContext,
): Promise<{ figures: Figure[]; detail: OverheadDetail }> {
  const o = ctx.profile.overhead;
  const detail: OverheadDetail = {
    latency: { docswarm: [], floor: [] },
    throughput: { docswarm: [], floor: [] },
    cpuUsPerTask: { docswarm: [], floor: [] },
    cpu: [],
    load: [],
  };
  const systems: System[] = ["floor", "docswarm"];
  // Latency: one task in flight per agent (slots 1), `rate` tasks/s.
  for (const system of systems) {
    const stop = await startSystem(ctx, system, 1);
    try {
      for (let rep = 0; rep < o.reps; rep++) {
        detail.load.push(load());
        const l = await latencyRun(ctx, system, Math.ceil(o.latencyTasks / o.reps), o.rate);
        detail.latency[system].push(...l);
        ctx.log(
          `overhead: ${system} latency at ${o.rate}/s: p50 ${percentile(l, 50).toFixed(2)} ms, ` +
            `p99 ${percentile(l, 99).toFixed(2)} ms, load ${load()}`,
        );
      }
    } finally {
      await stop();
    }
  }
  // Throughput: as fast as it goes, `slots` tasks per agent.
  for (const system of systems) {
    const stop = await startSystem(ctx, system, o.slots);
    try {
      for (let rep = 0; rep < o.reps; rep++) {
        const t = await throughputRun(ctx, system, Math.ceil(o.throughputTasks / o.reps));
        detail.throughput[system].push(t.perSec);
        detail.cpuUsPerTask[system].push(t.cpuUsPerTask);
        if (system === "docswarm") detail.cpu.push(t.cpu);
        ctx.log(
          `overhead: ${system} ${t.perSec.toFixed(0)} tasks/s, ${t.cpuUsPerTask.toFixed(0)} µs CPU per task (agents ${t.cpu.agentCores.toFixed(2)} cores, ` +
            `nats-server ${t.cpu.serverCores.toFixed(2)}, this process ${t.cpu.processCores.toFixed(2)}), load ${load()}`,
        );
      }
    } finally {
      await stop();
    }
  }
  const ds = detail.latency.docswarm;
  const fl = detail.latency.floor;
  const p50 = percentile(ds, 50);
  const p99 = percentile(ds, 99);
  const tps = median(detail.throughput.docswarm);
  const ftps = median(detail.throughput.floor);
  const figures: Figure[] = [
    {
      key: "overheadMsP50",
      figure: `coordination overhead per no-op task, p50 (${o.rate} tasks/s, ${ctx.cores} agents)`,
      value: round(p50),
      unit: "ms",
      reference: {
        label: "floor: same JetStream hops, plain nats.js",
        value: round(percentile(fl, 50)),
        unit: "ms",
      },
      ratio: round(p50 / percentile(fl, 50)),
      goal: { label: "< 1 ms", met: p50 < 1 },
      seedBar: "< 10 ms",
      note:
        "publish call → result delivered to a durable consumer: JetStream publish of the Task, pull by an idle " +
        "agent, envelope + input/output validation, result published with Nats-Msg-Id, task acked, result consumed and acked",
    },
    {
      key: "overheadMsP99",
      figure: "coordination overhead per no-op task, p99",
      value: round(p99),
      unit: "ms",
      reference: { label: "floor", value: round(percentile(fl, 99)), unit: "ms" },
      ratio: round(p99 / percentile(fl, 99)),
      goal: { label: "< 5 ms", met: p99 < 5 },
      note: `${ds.length} tasks`,
    },
    {
      key: "noopTasksPerSec",
      figure: `no-op tasks/s through the whole path (${ctx.cores} agents × ${o.slots} slots)`,
      value: round(tps),
      unit: "tasks/s",
      reference: { label: "floor, same threads and slots", value: round(ftps), unit: "tasks/s" },
      ratio: round(tps / ftps),
      goal: { label: "≥ 10,000 /s", met: tps >= 10_000 },
      seedBar: "1,000 / minute",
      note:
        `median of ${detail.throughput.docswarm.length} runs of ${Math.ceil(o.throughputTasks / o.reps)} tasks; ` +
        `CPU per task (bench process incl. agents, plus nats-server): docswarm ${round(median(detail.cpuUsPerTask.docswarm))} µs, ` +
        `floor ${round(median(detail.cpuUsPerTask.floor))} µs`,
    },
  ];
  return { figures, detail };
}
