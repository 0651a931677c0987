// Priority: how long one high-priority document takes when submitted behind a backlog of normal
// ones, against the same document on an idle swarm (measured just before, in the same run).
import { AgentHost } from "../../agents/index.ts";
import { Coordinator } from "../../coordinator/index.ts";
import { type BenchContext, type Figure, hostLog } from "../context.ts";
import { loadCorpus } from "../corpus.ts";
import { load } from "../cpu.ts";
import { DocswarmClient, FinalWatcher, runDocs } from "../pipeline-run.ts";
import { median, round } from "../stats.ts";

export type PriorityRun = {
  aloneMs: number;
  behindMs: number;
  backlogMs: number;
  backlogDoneAtHigh: number;
  load: string;
};

export async function priorityFigures(
  ctx: BenchContext,
): Promise<{ figures: Figure[]; runs: PriorityRun[] }> {
  const p = ctx.profile.priority;
  const backlog = await loadCorpus({
    pageCounts: Array(p.backlogDocs).fill(p.docPages),
    seed: 21,
    charsPerPage: 3300,
  });
  const [high] = await loadCorpus({ pageCounts: [p.docPages], seed: 22, charsPerPage: 3300 });
  const coordinator = await Coordinator.start({ servers: ctx.nats.url });
  const stopCoordinator = ctx.cleanups.push(() => coordinator.close());
  const host = await AgentHost.start({ servers: ctx.nats.url, agents: ctx.cores, onLog: hostLog(ctx) });
  const stopHost = ctx.cleanups.push(() => host.close());
  const client = new DocswarmClient(ctx.nats.nc);
  const watcher = await FinalWatcher.start(ctx.nats.nc);
  const runs: PriorityRun[] = [];
  try {
    await runDocs(client, watcher, [high!], { tag: "pw" }); // warm up
    for (let rep = 0; rep < p.reps; rep++) {
      const alone = await runDocs(client, watcher, [high!], { priority: "high", tag: "pa" });
      const backlogRun = runDocs(client, watcher, backlog, { tag: "pb" });
      // Behind the backlog: submitted once every backlog document is stored.
      await new Promise((r) => setTimeout(r, 50));
      const behind = await runDocs(client, watcher, [high!], { priority: "high", tag: "ph" });
      const b = await backlogRun;
      const highDoneAt = behind.startedAt + behind.ms;
      const doneBefore = b.arrivals.filter((a) => a.at <= highDoneAt).length;
      const run: PriorityRun = {
        aloneMs: alone.ms,
        behindMs: behind.ms,
        backlogMs: b.ms,
        backlogDoneAtHigh: doneBefore / backlog.length,
        load: load(),
      };
      runs.push(run);
      ctx.log(
        `priority: high document alone ${alone.ms.toFixed(0)} ms, behind ${backlog.length} normal documents ` +
          `${behind.ms.toFixed(0)} ms (backlog took ${b.ms.toFixed(0)} ms; ${doneBefore} of them finished first), load ${run.load}`,
      );
    }
  } finally {
    watcher.close();
    await stopHost.run();
    await stopCoordinator.run();
  }
  const behind = median(runs.map((r) => r.behindMs));
  const alone = median(runs.map((r) => r.aloneMs));
  const backlogMs = median(runs.map((r) => r.backlogMs));
  const figures: Figure[] = [
    {
      key: "priorityMs",
      figure: `one high-priority document (${p.docPages} pages) behind ${p.backlogDocs} normal ones`,
      value: round(behind),
      unit: "ms",
      reference: { label: "the same document on an idle swarm", value: round(alone), unit: "ms" },
      ratio: round(behind / alone),
      note: `the backlog took ${round(backlogMs)} ms; ${round(100 * median(runs.map((r) => r.backlogDoneAtHigh)))} % of it finished before the high-priority document`,
    },
  ];
  return { figures, runs };
}
