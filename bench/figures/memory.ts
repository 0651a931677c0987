// Memory per added agent: agent hosts with 1, 16 and 64 agents, each in its own process; RSS when
// the agents are idle (started, no task yet) and when every agent has done PDF work (pdf.js
// loaded, a document opened); the least-squares slope is the cost of one more agent.
import { setTimeout as sleep } from "node:timers/promises";
import { jetstreamManager } from "@nats-io/jetstream";
import { Coordinator } from "../../coordinator/index.ts";
import { listAgents } from "../../streams/index.ts";
import { AgentChild } from "../agent-child.ts";
import type { BenchContext, Figure } from "../context.ts";
import { loadCorpus } from "../corpus.ts";
import { memoryProbe, type ProbePart } from "../memory-probe.ts";
import { DocswarmClient, FinalWatcher, runDocs } from "../pipeline-run.ts";
import { linearFit, median, round } from "../stats.ts";

const MB = 1024 * 1024;

export type MemoryPoint = { agents: number; idleMb: number; warmMb: number; warmAgents: number };

async function rssMb(child: AgentChild): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    await sleep(300);
    samples.push((await child.rss()) / MB);
  }
  return median(samples);
}

export async function memoryFigures(
  ctx: BenchContext,
): Promise<{ figures: Figure[]; points: MemoryPoint[]; perThread: ProbePart[] }> {
  const points: MemoryPoint[] = [];
  const jsm = await jetstreamManager(ctx.nats.nc);
  const coordinator = await Coordinator.start({ servers: ctx.nats.url });
  const stopCoordinator = ctx.cleanups.push(() => coordinator.close());
  const client = new DocswarmClient(ctx.nats.nc);
  const watcher = await FinalWatcher.start(ctx.nats.nc);
  try {
    for (const agents of ctx.profile.memory.steps) {
      const child = await AgentChild.start({ servers: ctx.nats.url, agents }, ctx.cleanups);
      try {
        await sleep(1000);
        const idleMb = await rssMb(child);
        // Documents with 3 one-page chunks per agent until every agent has run a PDF task.
        const [doc] = await loadCorpus({ pageCounts: [3 * agents], seed: 11, charsPerPage: 3300 });
        let warmAgents = 0;
        for (let round = 0; round < 8 && warmAgents < agents; round++) {
          await runDocs(client, watcher, [doc!], { tag: "m" });
          await sleep(1200); // registrations refresh every second
          const mine = (await listAgents(jsm)).filter((a) => a.hostId === child.hostId);
          warmAgents = mine.filter((a) => a.tasksDone > 0).length;
        }
        await sleep(1000);
        const warmMb = await rssMb(child);
        points.push({ agents, idleMb, warmMb, warmAgents });
        ctx.log(
          `memory: ${agents} agents: RSS idle ${idleMb.toFixed(0)} MB, after PDF work ${warmMb.toFixed(0)} MB ` +
            `(${warmAgents} of ${agents} agents have run a task)`,
        );
      } finally {
        await child.close();
      }
    }
  } finally {
    watcher.close();
    await stopCoordinator.run();
  }
  const [probeDoc] = await loadCorpus({ pageCounts: [16], seed: 12, charsPerPage: 3300 });
  const perThread = await memoryProbe(probeDoc!.bytes);
  for (const p of perThread) ctx.log(`memory: per thread, ${p.part}: ${p.mbPerThread.toFixed(1)} MB`);
  const warm = linearFit(points.map((p) => ({ x: p.agents, y: p.warmMb })));
  const idle = linearFit(points.map((p) => ({ x: p.agents, y: p.idleMb })));
  const steps = points.map((p) => p.agents).join(", ");
  const figures: Figure[] = [
    {
      key: "mbPerAgent",
      figure: "RSS per added agent, after PDF work",
      value: round(warm.slope),
      unit: "MB",
      reference: {
        label: `host process with 0 agents (intercept)`,
        value: round(warm.intercept),
        unit: "MB",
      },
      goal: { label: "< 30 MB", met: warm.slope < 30 },
      seedBar: "< 50 MB",
      note:
        `least-squares slope over hosts with ${steps} agents: ${points.map((p) => `${p.warmMb.toFixed(0)}`).join(", ")} MB. ` +
        `Per-thread costs measured alone (RSS per extra worker thread): ${perThread
          .map((p) => `${p.part} ${p.mbPerThread.toFixed(1)} MB`)
          .join("; ")}`,
    },
    {
      key: "mbPerIdleAgent",
      figure: "RSS per added agent, idle (no task yet)",
      value: round(idle.slope),
      unit: "MB",
      reference: { label: "intercept", value: round(idle.intercept), unit: "MB" },
      note: `hosts with ${steps} agents: ${points.map((p) => `${p.idleMb.toFixed(0)}`).join(", ")} MB`,
    },
  ];
  return { figures, points, perThread };
}
