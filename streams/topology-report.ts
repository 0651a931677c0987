// What a role does about the topology when it starts (check it; create what is missing if it may,
// else wait for it), and how a topology report reads to a person.
import type { NatsConnection } from "@nats-io/transport-node";
import type { TopologyOptions } from "../schemas/index.ts";
import { applyTopology, type ResourceChange, type TopologyReport } from "./topology.ts";
import type { FieldDiff } from "./topology-diff.ts";

const NS_FIELDS = new Set(["max_age", "duplicate_window", "ack_wait", "subject_delete_marker_ttl"]);
const BYTE_FIELDS = new Set(["max_bytes", "max_msg_size"]);

export function formatBytes(n: number): string {
  if (n < 0) return "unlimited";
  for (const [unit, size] of [
    ["GiB", 1024 ** 3],
    ["MiB", 1024 ** 2],
    ["KiB", 1024],
  ] as const) {
    if (n >= size) return `${Number((n / size).toFixed(2))} ${unit}`;
  }
  return `${n} B`;
}

export function formatDuration(ms: number): string {
  if (ms <= 0) return "none";
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["min", 60_000],
    ["s", 1000],
  ] as const) {
    if (ms >= size) return `${Number((ms / size).toFixed(2))} ${unit}`;
  }
  return `${ms} ms`;
}

function formatValue(field: string, v: unknown): string {
  if (v === undefined || v === null) return "-";
  if (typeof v === "number" && NS_FIELDS.has(field)) return formatDuration(v / 1_000_000);
  if (typeof v === "number" && BYTE_FIELDS.has(field)) return formatBytes(v);
  if (field === "backoff" && Array.isArray(v)) return v.map((ns) => formatDuration(ns / 1_000_000)).join(",");
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** The settings record: which settings it changes. */
function settingsDiff(from: unknown, to: unknown): string {
  const parse = (v: unknown): Record<string, unknown> => {
    try {
      return typeof v === "string" ? (JSON.parse(v) as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  };
  const [a, b] = [parse(from), parse(to)];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter(
    (k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]),
  );
  if (Object.keys(a).length === 0) return "settings recorded";
  return `settings ${keys.map((k) => `${k} ${JSON.stringify(a[k]) ?? "-"} -> ${JSON.stringify(b[k])}`).join(", ")}`;
}

export function formatDiff(d: FieldDiff): string {
  if (d.field === "metadata.docswarm.settings") return settingsDiff(d.from, d.to);
  const name = d.field.replace(/^metadata\./, "");
  return `${name} ${formatValue(d.field, d.from)} -> ${formatValue(d.field, d.to)}`;
}

/** One line per resource that was (or would be) created or changed, or that differs. */
export function describeChanges(report: TopologyReport): string[] {
  const out: string[] = [];
  const line = (word: string, c: ResourceChange, text = "") =>
    out.push(`${word.padEnd(8)} ${c.target.padEnd(32)} ${text}`.trimEnd());
  for (const c of report.changes) {
    if (c.error) line("FAILED", c, `${c.changes.map(formatDiff).join("; ")}: ${c.error}`);
    else if (c.action === "create") line("create", c, c.kind);
    else if (c.action === "update") line("update", c, c.changes.map(formatDiff).join("; "));
    if (c.differs.length > 0)
      line(report.mode === "init" ? "keep" : "differs", c, c.differs.map(formatDiff).join("; "));
  }
  return out;
}

export type TopologyLog = (
  level: "info" | "warn" | "error",
  msg: string,
  fields?: Record<string, unknown>,
) => void;

/** What a role's check found, said once: created, differing, older or newer layout. */
export function logCheck(report: TopologyReport, log: TopologyLog): void {
  const created = report.changes.filter(
    (c) => c.action === "create" && !c.error && !report.missing.includes(c.target),
  );
  if (created.length > 0)
    log(
      "warn",
      "topology: created what was missing, with the settings in force; run `docswarm init` to set replicas and limits",
      {
        created: created.map((c) => c.target),
        replicas: report.config.replicas,
      },
    );
  if (report.found !== null && report.found < report.version)
    log(
      "warn",
      `topology: version ${report.found} found, this docswarm writes ${report.version}: run \`docswarm init\` to migrate`,
    );
  if (report.found !== null && report.found > report.version)
    log(
      "warn",
      `topology: version ${report.found} was written by a newer docswarm (this one writes ${report.version})`,
    );
  const structural = report.changes.flatMap((c) =>
    c.differs.filter((d) => d.kind === "structural").map((d) => `${c.target} ${formatDiff(d)}`),
  );
  if (structural.length > 0)
    log("warn", "topology: differs from what this docswarm expects; run `docswarm init`", {
      differs: structural,
    });
  const kept = report.changes.flatMap((c) =>
    c.differs.filter((d) => d.kind === "setting" && d.asked).map((d) => `${c.target} ${formatDiff(d)}`),
  );
  if (kept.length > 0)
    log("info", "topology: keeping the operator's settings over this role's options", { kept });
}

export type CheckOptions = {
  /** Whether this role may create what is missing (a read-only role waits instead). */
  create: boolean;
  log: TopologyLog;
  signal?: AbortSignal;
  /** How often to look again while waiting, and how often to say so. */
  pollMs?: number;
  sayEveryMs?: number;
};

/**
 * A role's topology check: create what is missing if it may (with the settings in force), else —
 * or when the server does not allow it — wait until someone does, saying so every 10 s.
 */
export async function checkTopology(
  nc: NatsConnection,
  options: TopologyOptions,
  check: CheckOptions,
): Promise<TopologyReport> {
  let saidAt = 0;
  for (;;) {
    const report = await applyTopology(nc, options, { mode: "check", create: check.create });
    if (report.missing.length === 0) {
      logCheck(report, check.log);
      return report;
    }
    if (Date.now() - saidAt >= (check.sayEveryMs ?? 10_000)) {
      saidAt = Date.now();
      const denied = report.changes.some((c) => c.error?.startsWith("not allowed"));
      check.log(
        "warn",
        denied || !check.create
          ? "waiting for the docswarm topology (run `docswarm init`)"
          : "waiting for the docswarm topology: creating it failed",
        {
          missing: report.missing,
          ...(denied && { reason: "this user may not create it" }),
          ...(report.changes.find((c) => c.error) && { error: report.changes.find((c) => c.error)!.error }),
        },
      );
    }
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, check.pollMs ?? 1000);
      check.signal?.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          reject(check.signal!.reason);
        },
        { once: true },
      );
    });
  }
}
