// `docswarm process` start-up and shutdown (issue 10): the CLI run the way a user runs it, on one
// small document with the default agents and its own embedded nats-server, several times; its
// stderr timings (swarm/swarm.ts SwarmTimings) give start-up (server, streams, coordinator,
// agents) and shutdown (agents, coordinator, connections, server) apart from the document's time,
// and the wall time of the whole command is measured around it.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SwarmTimings } from "../../swarm/index.ts";
import type { BenchContext, Figure } from "../context.ts";
import { loadCorpus } from "../corpus.ts";
import { median, round } from "../stats.ts";

const cli = new URL("../../cli/docswarm.ts", import.meta.url);
const GOAL_MS = 1500;

export type LifecycleRun = {
  startupMs: number;
  shutdownMs: number;
  processingMs: number;
  wallMs: number;
  timings: SwarmTimings;
};

function runOnce(dir: string, out: string): Promise<LifecycleRun> {
  const env = { ...process.env };
  delete env.NATS_URL; // its own embedded server, as a user's first run
  const started = performance.now();
  const child = spawn(process.execPath, [cli.pathname, "process", dir, "--json", "--out", out], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => {
      const wallMs = performance.now() - started;
      const line = stderr.split("\n").find((l) => l.startsWith('{"timings"'));
      if (code !== 0 || !line) return reject(new Error(`docswarm process exited ${code}: ${stderr}`));
      const t = (JSON.parse(line) as { timings: SwarmTimings & { processingMs: number } }).timings;
      const sum = (o: Record<string, number>) => Object.values(o).reduce((n, v) => n + v, 0);
      resolve({
        startupMs: sum(t.startup),
        shutdownMs: sum(t.shutdown),
        processingMs: t.processingMs,
        wallMs,
        timings: { startup: t.startup, shutdown: t.shutdown },
      });
    });
  });
}

export async function lifecycleFigures(
  ctx: BenchContext,
): Promise<{ figures: Figure[]; runs: LifecycleRun[] }> {
  const dir = await mkdtemp(join(tmpdir(), "docswarm-lifecycle-"));
  const stop = ctx.cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const runs: LifecycleRun[] = [];
  try {
    const [doc] = await loadCorpus({ pageCounts: [2], seed: 21, charsPerPage: 2000 });
    await writeFile(join(dir, "one.pdf"), doc!.bytes);
    for (let i = 0; i < ctx.profile.lifecycle.runs; i++) {
      const r = await runOnce(dir, join(dir, "out"));
      runs.push(r);
      ctx.log(
        `lifecycle: start-up ${r.startupMs} ms ${JSON.stringify(r.timings.startup)}, document ${r.processingMs} ms, ` +
          `shutdown ${r.shutdownMs} ms ${JSON.stringify(r.timings.shutdown)}, command ${r.wallMs.toFixed(0)} ms`,
      );
    }
  } finally {
    await stop.run();
  }
  const m = (f: (r: LifecycleRun) => number) => round(median(runs.map(f)), 0);
  const both = m((r) => r.startupMs + r.shutdownMs);
  const parts = (key: "startup" | "shutdown") =>
    Object.keys(runs[0]!.timings[key])
      .map((k) => `${k.replace(/Ms$/, "")} ${m((r) => (r.timings[key] as Record<string, number>)[k]!)}`)
      .join(", ");
  const figures: Figure[] = [
    {
      key: "lifecycleMs",
      figure: "`docswarm process`: start-up + shutdown (embedded server, default agents)",
      value: both,
      unit: "ms",
      goal: { label: `< ${GOAL_MS} ms`, met: both < GOAL_MS },
      note:
        `median of ${runs.length} runs on one 2-page document; start-up ${m((r) => r.startupMs)} ms (${parts("startup")}), ` +
        `shutdown ${m((r) => r.shutdownMs)} ms (${parts("shutdown")}); the document ${m((r) => r.processingMs)} ms; ` +
        `whole command ${m((r) => r.wallMs)} ms (Node start and module loading included)`,
    },
    { key: "startupMs", figure: "`docswarm process` start-up", value: m((r) => r.startupMs), unit: "ms" },
    { key: "shutdownMs", figure: "`docswarm process` shutdown", value: m((r) => r.shutdownMs), unit: "ms" },
  ];
  return { figures, runs };
}
