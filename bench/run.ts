// npm run bench [-- --quick] [--json] [--only pages,overhead,...] [--out DIR] [--wait-quiet S]
// Measures every figure of DESIGN.md's table against its reference in the same run, prints a
// markdown table, writes JSON + markdown + an SVG chart under bench/results/, and with --json ends
// with one JSON object on stdout. Uses NATS_URL when set, else an embedded nats-server on 127.0.0.1.
import { spawnSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type BenchContext, coreCount, type Figure } from "./context.ts";
import { load } from "./cpu.ts";
import { documentFigures } from "./figures/documents.ts";
import { engineFigures } from "./figures/engines.ts";
import { lifecycleFigures } from "./figures/lifecycle.ts";
import { memoryFigures } from "./figures/memory.ts";
import { overheadFigures } from "./figures/overhead.ts";
import { pagesFigures } from "./figures/pages.ts";
import { priorityFigures } from "./figures/priority.ts";
import { recoveryFigures } from "./figures/recovery.ts";
import { scalingFigures } from "./figures/scaling.ts";
import { Cleanups, startNats, stopOnSignals } from "./lifecycle.ts";
import { PROFILES, type Profile } from "./profile.ts";
import { codeVersion, environment, markdownTable, scalingSvg, summary } from "./report.ts";

const FIGURES = [
  "pages",
  "documents",
  "overhead",
  "scaling",
  "memory",
  "recovery",
  "priority",
  "engines",
  "lifecycle",
] as const;
type FigureName = (typeof FIGURES)[number];

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    smoke: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    only: { type: "string" },
    out: { type: "string" },
    "wait-quiet": { type: "string" },
    readme: { type: "boolean", default: false },
  },
});
const profile: Profile = PROFILES[values.smoke ? "smoke" : values.quick ? "quick" : "full"];
const only = values.only ? values.only.split(",").map((s) => s.trim()) : [...FIGURES];
for (const name of only) {
  if (!(FIGURES as readonly string[]).includes(name)) {
    process.stderr.write(`bench: unknown figure '${name}' (known: ${FIGURES.join(", ")})\n`);
    process.exit(2);
  }
}
const outDir = values.out ?? fileURLToPath(new URL("./results/", import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);

async function packageVersion(name: string): Promise<string> {
  const file = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(await readFile(file, "utf8")) as { version?: string }).version ?? "unknown";
}

/** Waits (at most `seconds`) for the 1-minute load average to drop below the core count. */
async function waitQuiet(seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (loadavg()[0]! >= coreCount() && Date.now() < deadline) {
    log(`bench: waiting for a quieter machine (load ${load()})`);
    await sleep(15_000);
  }
}

/** Puts the table (and chart) between the bench markers of README.md. */
async function updateReadme(table: string, chart: string | undefined): Promise<void> {
  const file = new URL("../README.md", import.meta.url);
  const readme = await readFile(file, "utf8");
  const start = "<!-- bench:full:start -->";
  const end = "<!-- bench:full:end -->";
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a < 0 || b < a) throw new Error(`README.md has no ${start} ... ${end} block`);
  const chartLine = chart ? `\n![Scaling efficiency of I/O-bound agents](bench/results/${chart})\n` : "";
  await writeFile(file, `${readme.slice(0, a + start.length)}\n${table}${chartLine}${readme.slice(b)}`);
  // The project's formatter owns markdown layout (npm test checks it): let it pad the table.
  const biome = fileURLToPath(new URL("../node_modules/.bin/biome", import.meta.url));
  const r = spawnSync(biome, ["format", "--write", fileURLToPath(file)], { encoding: "utf8" });
  if (r.status !== 0) log(`bench: could not format README.md with biome: ${r.error?.message ?? r.stderr}`);
  log("bench: README.md updated");
}

const cleanups = new Cleanups();
stopOnSignals(cleanups, log);
try {
  if (values["wait-quiet"]) await waitQuiet(Number(values["wait-quiet"]));
  const startedAt = new Date();
  const loadStart = loadavg();
  const docswarm = codeVersion();
  log(`bench: profile ${profile.name}, ${coreCount()} cores, load ${load()}`);
  const nats = await startNats(cleanups);
  const ctx: BenchContext = { nats, cleanups, profile, cores: coreCount(), log };
  const figures: Figure[] = [];
  const details: Record<string, unknown> = {};
  const run = async <T extends { figures: Figure[] }>(
    name: FigureName,
    fn: (c: BenchContext) => Promise<T>,
  ) => {
    if (!only.includes(name)) return undefined;
    const r = await fn(ctx);
    figures.push(...r.figures);
    const { figures: _f, ...rest } = r;
    details[name] = rest;
    return r;
  };
  await run("pages", pagesFigures);
  await run("documents", documentFigures);
  await run("overhead", overheadFigures);
  const scaling = await run("scaling", scalingFigures);
  await run("memory", memoryFigures);
  await run("recovery", recoveryFigures);
  await run("priority", priorityFigures);
  await run("engines", engineFigures);
  await run("lifecycle", lifecycleFigures);

  const env = environment({
    profile: profile.name,
    natsServer: nats.version,
    embedded: nats.embedded,
    loadStart,
    startedAt,
    docswarm,
    packages: {
      pdfjs: await packageVersion("pdfjs-dist"),
      pdfium: await packageVersion("@embedpdf/pdfium"),
      nats: await packageVersion("@nats-io/transport-node"),
    },
  });
  const table = markdownTable(env, figures);
  const result = { env, summary: summary(figures), figures, details };
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, `${profile.name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(join(outDir, `${profile.name}.md`), table);
  if (scaling) {
    const title = `docswarm: I/O-bound tasks, efficiency vs agents (${env.machine.cores} cores, ${profile.name})`;
    await writeFile(join(outDir, `scaling-${profile.name}.svg`), scalingSvg(scaling.points, title));
  }
  log(
    `bench: results in ${outDir} (${profile.name}.json, ${profile.name}.md${scaling ? `, scaling-${profile.name}.svg` : ""})`,
  );
  if (values.readme) await updateReadme(table, scaling ? `scaling-${profile.name}.svg` : undefined);
  if (values.json) process.stdout.write(`${JSON.stringify(result.summary)}\n`);
  else process.stdout.write(table);
} catch (err) {
  log(`bench failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
} finally {
  await cleanups.run();
}
