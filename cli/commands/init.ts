// docswarm init [--replicas N] [--<limit> VALUE]... [--dry-run] [--json]: the operator's command.
// Creates the topology, or brings one an older docswarm wrote up to date, and sets what it is told;
// every setting not named stays as the server has it. Idempotent: a second run changes nothing.
import { parseArgs } from "node:util";
import { TopologyConfig, type TopologyOptions } from "../../schemas/index.ts";
import {
  describeChanges,
  displayServers,
  formatBytes,
  formatDuration,
  initTopology,
} from "../../streams/index.ts";
import { CONNECTION_OPTIONS, commandConnection } from "../connection-flags.ts";
import { UsageError } from "../errors.ts";
import { firstConnection } from "../first-connection.ts";
import { createLogger } from "../log.ts";

type Unit = "bytes" | "duration" | "durations" | "number" | "ratio";

/** Every TopologyConfig knob as a flag: doneMaxAgeMs → --done-max-age 7d, doneMaxBytes → --done-max-bytes 2GiB. */
export const INIT_FLAGS: Array<{ flag: string; key: keyof TopologyOptions; unit: Unit }> = Object.keys(
  TopologyConfig.shape,
)
  .filter((key) => key !== "memoryStorage" && key !== "extraStages")
  .map((key) => {
    const unit: Unit = key.endsWith("Bytes")
      ? "bytes"
      : key === "backoffMs"
        ? "durations"
        : key.endsWith("Ms")
          ? "duration"
          : key.endsWith("Ratio")
            ? "ratio"
            : "number";
    const flag = key.replace(/Ms$/, "").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    return { flag, key: key as keyof TopologyOptions, unit };
  });

const SIZES: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};
const DURATIONS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

function parseUnit(text: string, units: Record<string, number>, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const factor = m ? (m[2] ? units[m[2].toLowerCase()] : 1) : undefined;
  if (!m || factor === undefined) throw new UsageError(`'${text}' is not ${what}`);
  return Math.round(Number(m[1]) * factor);
}

export function parseFlagValue(unit: Unit, text: string): number | number[] {
  switch (unit) {
    case "bytes":
      return parseUnit(text, SIZES, "a size (e.g. 512MiB, 2GiB, 1000000)");
    case "duration":
      return parseUnit(text, DURATIONS, "a duration (e.g. 500ms, 30s, 10m, 7d)");
    case "durations":
      return text.split(",").map((t) => parseUnit(t, DURATIONS, "a list of durations (e.g. 2s,2s,4s,8s)"));
    case "ratio":
      return text.endsWith("%") ? Number(text.slice(0, -1)) / 100 : Number(text);
    default:
      return Number(text);
  }
}

export async function initCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      "dry-run": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      ...CONNECTION_OPTIONS,
      ...Object.fromEntries(INIT_FLAGS.map((f) => [f.flag, { type: "string" as const }])),
    },
  });
  const asked: Record<string, unknown> = {};
  for (const f of INIT_FLAGS) {
    const v = (values as Record<string, unknown>)[f.flag];
    if (typeof v === "string") asked[f.key] = parseFlagValue(f.unit, v);
  }
  const checked = TopologyConfig.partial().safeParse(asked);
  if (!checked.success)
    throw new UsageError(
      checked.error.issues.map((i) => `--${flagOf(String(i.path[0]))}: ${i.message}`).join("; "),
    );
  // The operator's command: under NATS auth, the admin user's credentials.
  const { config } = commandConnection(values, "admin");
  const url = displayServers(config.servers);
  const nc = await firstConnection(config, "docswarm-init", createLogger("warn", { role: "init" }));
  if (!nc) return 130;
  try {
    const report = await initTopology(nc, asked as TopologyOptions, { dryRun: values["dry-run"] === true });
    const failed = report.changes.filter((c) => c.error).length;
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return failed > 0 ? 1 : 0;
    }
    const changed = report.changes.filter((c) => c.action !== "none").length;
    const lines = [
      `docswarm init  ${url}  topology version ${report.version} (found ${report.found ?? "none"})${report.dryRun ? "  DRY RUN" : ""}`,
      ...describeChanges(report).map((l) => `  ${l}`),
      `  settings: replicas ${report.config.replicas}; done stream ${formatBytes(report.config.doneMaxBytes)} for ${formatDuration(report.config.doneMaxAgeMs)}, results up to ${formatBytes(report.config.doneMaxResultBytes)} each; jobs bucket ${formatBytes(report.config.jobsMaxBytes)}`,
      report.dryRun
        ? `${changed} change(s) planned; nothing was changed.`
        : failed > 0
          ? `${changed - failed} change(s) applied, ${failed} FAILED (see above).`
          : changed > 0
            ? `${changed} change(s) applied.`
            : "Nothing to change: the topology is up to date.",
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    return failed > 0 ? 1 : 0;
  } finally {
    await nc.close();
  }
}

function flagOf(key: string): string {
  return INIT_FLAGS.find((f) => f.key === key)?.flag ?? key;
}
