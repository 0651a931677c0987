// npm run partition [-- --docs N --faults N --hold-ms MS --seed S --only node,leader,... --keep DIR --json]
// Runs documents through a three-node NATS cluster, two coordinators and three agent hosts, each in
// its own network namespace, while cutting, splitting, slowing and flapping their links; prints
// recovery times per fault kind, what each role logged, and the lost / duplicated / differing counts.
// Needs root (network namespaces), iproute2, iptables and python3; removes everything it created.
import { parseArgs } from "node:util";
import type { Stats } from "./chaos/run.ts";
import { FAULT_KINDS, FAULT_NAMES, type FaultKind } from "./partition/faults.ts";
import { type PartitionReport, runPartition } from "./partition/run.ts";

const { values } = parseArgs({
  options: {
    docs: { type: "string", default: "300" },
    "max-pages": { type: "string", default: "6" },
    agents: { type: "string", default: "2" },
    faults: { type: "string", default: "12" },
    "hold-ms": { type: "string", default: "10000" },
    seed: { type: "string", default: "42" },
    "slow-ms-per-page": { type: "string", default: "150" },
    /** Comma-separated fault kinds (default all): node, leader, host, split, slow, flap. */
    only: { type: "string" },
    /** Keep node logs, role logs and the full report in this directory. */
    keep: { type: "string" },
    json: { type: "boolean", default: false },
  },
});

const num = (name: keyof typeof values) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: not a count: ${values[name]}`);
  return n;
};

const kinds = (values.only ?? FAULT_KINDS.join(",")).split(",").map((k) => k.trim());
const unknown = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
if (kinds.length === 0 || unknown.length > 0)
  throw new Error(`--only: fault kinds are ${FAULT_KINDS.join(", ")}; got ${values.only}`);
const chosen = kinds as FaultKind[];

const ms = (v: number | null) => (v === null ? "-" : `${v} ms`);
const cell = (s: Stats) =>
  s.samples === 0
    ? "-".padEnd(30)
    : `${ms(s.p50Ms)} / ${ms(s.p99Ms)} / ${ms(s.maxMs)} (${s.samples})`.padEnd(30);

function print(r: PartitionReport): void {
  const out = [
    "",
    `docswarm partition: ${r.docs} documents, ${r.pages} pages, seed ${r.seed}, ${r.faults.length} faults`,
    `fault-free run ${(r.baselineMs / 1000).toFixed(1)} s, partitioned run ${(r.runMs / 1000).toFixed(1)} s`,
    "",
    `${"fault".padEnd(50)} ${"n".padEnd(3)} ${"takeover p50 / p99 / max (n)".padEnd(30)} whole again after heal p50 / p99 / max`,
    ...r.byKind.map(
      (k) =>
        `${FAULT_NAMES[k.kind].padEnd(50)} ${String(k.count).padEnd(3)} ${cell(k.takeover)} ${cell(k.recovery)}`,
    ),
    "",
    "faults in order:",
    ...r.faults.map(
      (f) =>
        `  ${f.kind.padEnd(6)} ${f.target.padEnd(44)} takeover ${f.takeoverMs.length ? `${Math.max(...f.takeoverMs)} ms` : "-"}, whole ${f.recoveryMs ?? "?"} ms after heal${f.lateResults ? `, ${f.lateResults} late results` : ""}${f.notes.length ? `  (${f.notes.join("; ")})` : ""}`,
    ),
    "",
    "what the roles logged while each kind of fault lasted (top messages):",
    ...r.byKind.flatMap((k) => [
      `  ${FAULT_NAMES[k.kind]}:`,
      ...Object.entries(k.logs).flatMap(([source, msgs]) => [
        `    ${source}:`,
        ...msgs.slice(0, 6).map((m) => `      ${String(m.count).padStart(4)}× ${m.msg}`),
      ]),
    ]),
    "",
    `lost ${r.lost}   duplicated ${r.duplicated}   differing from fault-free ${r.mismatched}   failed ${r.failedDocs}   role processes exited ${r.exited.length}`,
    `late results from cut-off agents (deduplicated, changed nothing): ${r.byKind.reduce((n, k) => n + k.lateResults, 0)}; tasks completed more than once: ${r.duplicateCompletions}; submissions retried by the drill: ${r.submitErrors.length}`,
    ...r.submitErrors.slice(0, 5).map((e) => `  submit: ${e}`),
    ...r.problems.slice(0, 20).map((p) => `  ! ${p}`),
    "",
    r.ok ? "OK: every document has exactly one final result, identical to the fault-free run" : "FAILED",
    "",
  ];
  process.stdout.write(out.join("\n"));
}

const report = await runPartition({
  docs: num("docs"),
  maxPages: Math.max(1, num("max-pages")),
  agentsPerHost: Math.max(1, num("agents")),
  faults: Math.max(1, num("faults")),
  holdMs: num("hold-ms"),
  seed: num("seed"),
  slowMsPerPage: num("slow-ms-per-page"),
  kinds: chosen,
  firstFaults: chosen,
  ...(values.keep && { keepDir: values.keep }),
  log: values.json ? () => {} : (l) => process.stderr.write(`${l}\n`),
});
if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
else print(report);
process.exitCode = report.ok ? 0 : 1;
