// npm run chaos [-- --docs N --hosts N --agents N --coordinators N --seed S --only leader,host --auth --json]
// Processes generated documents while crashing agent threads and kill -9ing agent hosts and the
// leading coordinator; prints recovery and failover times and the lost / duplicated counts.
import { parseArgs } from "node:util";
import { type ChaosReport, type FaultKind, runChaos, type Stats } from "./chaos/run.ts";

const { values } = parseArgs({
  options: {
    docs: { type: "string", default: "300" },
    "max-pages": { type: "string", default: "8" },
    hosts: { type: "string", default: "3" },
    agents: { type: "string", default: "2" },
    coordinators: { type: "string", default: "2" },
    seed: { type: "string", default: "42" },
    "slow-ms-per-page": { type: "string", default: "0" },
    /** Comma-separated fault kinds to inject: thread, host, leader (default all three). */
    only: { type: "string" },
    json: { type: "boolean", default: false },
    /** Every role process as its own NATS user (docswarm auth init). */
    auth: { type: "boolean", default: false },
  },
});

const num = (name: keyof typeof values) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: not a count: ${values[name]}`);
  return n;
};

const ms = (v: number | null) => (v === null ? "-" : `${v} ms`);
const line = (name: string, s: Stats) =>
  `${name.padEnd(22)} n=${String(s.samples).padEnd(5)} p50 ${ms(s.p50Ms).padEnd(9)} p99 ${ms(s.p99Ms).padEnd(9)} max ${ms(s.maxMs)}`;

function print(r: ChaosReport): void {
  const out = [
    "",
    `docswarm chaos: ${r.docs} documents, ${r.pages} pages`,
    `faults: ${r.faults.thread} agent threads crashed, ${r.faults.host} agent hosts kill -9, ${r.faults.leader} leading coordinators kill -9`,
    `fault-free run ${(r.baselineMs / 1000).toFixed(1)} s, chaos run ${(r.chaosMs / 1000).toFixed(1)} s`,
    "",
    "recovery (kill -> task running again elsewhere)",
    line("  all", r.recovery),
    line("  agent thread crash", r.recovery.byKind.thread),
    line("  agent host kill -9", r.recovery.byKind.host),
    line("leader failover", r.failover),
    line("  (lease taken over)", r.leaseTakeover),
    "slowest recoveries:",
    ...r.recovery.slowest.map(
      (x) =>
        `  ${String(x.ms).padStart(5)} ms  ${x.kind.padEnd(6)} ${x.taskId}  (delivery ${x.delivery} on ${x.agentId})`,
    ),
    "",
    `lost ${r.lost}   duplicated ${r.duplicated}   differing from fault-free ${r.mismatched}   failed ${r.failedDocs}   never re-run ${r.recovery.unrecovered}`,
    `tasks completed more than once (results deduplicated): ${r.doubleExecutions.total}, ${r.doubleExecutions.afterKills} after a kill of the agent running them, ${r.doubleExecutions.unexplained} unexplained; documents with a repeated finished event: ${r.duplicateEvents}`,
    `final publishes attempted: ${r.finals.attempted} for ${r.docs} documents, ${r.finals.refused} refused by the at-most-once check (${r.finals.unexplained} without a merge or split re-run to explain them)`,
    ...r.problems.slice(0, 20).map((p) => `  ! ${p}`),
    "",
    r.ok ? "OK: every document has exactly one final result, identical to the fault-free run" : "FAILED",
    "",
  ];
  process.stdout.write(out.join("\n"));
}

const kinds = (values.only ?? "thread,host,leader").split(",").map((k) => k.trim());
if (kinds.length === 0 || kinds.some((k) => k !== "thread" && k !== "host" && k !== "leader"))
  throw new Error(`--only: fault kinds are thread, host, leader; got ${values.only}`);
const chosen = kinds as FaultKind[];

const report = await runChaos({
  kinds: chosen,
  firstFaults: chosen,
  docs: num("docs"),
  maxPages: Math.max(1, num("max-pages")),
  hosts: Math.max(2, num("hosts")),
  agentsPerHost: Math.max(1, num("agents")),
  coordinators: Math.max(2, num("coordinators")),
  seed: num("seed"),
  slowMsPerPage: num("slow-ms-per-page"),
  auth: values.auth,
  log: values.json ? () => {} : (l) => process.stderr.write(`${l}\n`),
});
if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
else print(report);
process.exitCode = report.ok ? 0 : 1;
