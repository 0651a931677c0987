// docswarm status [--json]: the swarm at a glance, read from NATS_URL: per stage and priority the
// backlog, in flight, redelivered and dead letters; agents by capability; the coordinator;
// documents in progress; throughput over the last minute; and what looks wrong.
import { parseArgs } from "node:util";
import { jetstreamManager } from "@nats-io/jetstream";
import { readSwarmStatus } from "../../observability/index.ts";
import type { SwarmStatus } from "../../schemas/index.ts";
import {
  applyTopology,
  connectNats,
  displayServers,
  formatBytes,
  formatDuration,
} from "../../streams/index.ts";
import { CONNECTION_OPTIONS, commandConnection } from "../connection-flags.ts";

export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: "boolean", default: false }, ...CONNECTION_OPTIONS },
  });
  const { config } = commandConnection(values, "observer");
  const url = displayServers(config.servers);
  const nc = await connectNats({ ...config, name: "docswarm-status" });
  try {
    const topology = await applyTopology(nc, {}, { mode: "check", create: false });
    if (topology.found === null) {
      process.stdout.write(
        values.json
          ? `${JSON.stringify({ v: 1, topology: "missing", url })}\n`
          : `docswarm status  ${url}\n\nno docswarm topology on this server yet: run \`docswarm init\` (or start a coordinator or agents, which create it)\n`,
      );
      return 1;
    }
    const status = await readSwarmStatus(await jetstreamManager(nc));
    process.stdout.write(values.json ? `${JSON.stringify(status)}\n` : renderStatus(status, url));
    return 0;
  } finally {
    await nc.close();
  }
}

function table(rows: string[][], numeric: Set<number>): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      `  ${r.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ")}`.trimEnd(),
    )
    .join("\n");
}

const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function renderStatus(s: SwarmStatus, url: string): string {
  const out: string[] = [`docswarm status  ${url}  ${new Date(s.at).toISOString()}`, ""];
  out.push("Stages");
  out.push(
    table(
      [
        ["stage", "priority", "backlog", "in flight", "redelivered", "waiting pulls", "max ack pending"],
        ...s.stages.map((x) => [
          x.stage,
          x.priority,
          String(x.backlog),
          String(x.inFlight),
          String(x.redelivered),
          String(x.waiting),
          `${x.maxAckPending}${x.atMaxAckPending ? " FULL" : ""}`,
        ]),
      ],
      new Set([2, 3, 4, 5, 6]),
    ),
  );
  const dl = Object.entries(s.deadLetters).filter(([, n]) => n > 0);
  out.push(`Dead letters: ${dl.length ? dl.map(([st, n]) => `${st} ${n}`).join(", ") : "none"}`, "");

  const caps = Object.entries(s.agentsByStage).map(
    ([stage, by]) =>
      `${stage}: ${Object.entries(by)
        .map(([st, n]) => `${n} ${st}`)
        .join(", ")}`,
  );
  out.push(`Agents (${s.agents.length})${caps.length ? `  ${caps.join("; ")}` : ""}`);
  if (s.agents.length) {
    out.push(
      table(
        [
          ["agent", "stages", "state", "current task", "heartbeat", "done", "failed", "heap", "host RSS"],
          ...s.agents.map((a) => [
            a.agentId,
            a.stages.join(","),
            a.status,
            a.currentTasks.join(",") || "-",
            secs(a.heartbeatAgeMs),
            String(a.tasksDone),
            String(a.tasksFailed),
            a.heapUsedBytes === undefined ? "-" : mb(a.heapUsedBytes),
            mb(a.hostRssBytes),
          ]),
        ],
        new Set([4, 5, 6, 7, 8]),
      ),
    );
  }
  const c = s.coordinator;
  out.push(
    "",
    `Coordinator: ${c.leader ? `leader ${c.leader} (term ${c.term})` : c.consuming ? "consuming results" : "none consuming"}; ${c.pendingResults} result(s) pending`,
    "",
    `Documents in progress (${s.documents.length})`,
  );
  if (s.documents.length) {
    out.push(
      table(
        [
          ["document", "source", "status", "pages", "chunks", "age"],
          ...s.documents.map((d) => [
            d.docId,
            d.source ?? "-",
            d.status,
            `${d.pagesDone}/${d.pageCount}`,
            `${d.chunksDone}/${d.chunks}`,
            secs(s.at - d.submittedAt),
          ]),
        ],
        new Set([3, 4, 5]),
      ),
    );
  }
  const t = s.throughput;
  out.push(
    "",
    `Throughput (last ${Math.round(t.windowMs / 1000)} s): ${t.pages} pages (${t.pagesPerSecond} pages/s), ${t.docsDone} documents done, ${t.docsFailed} failed; tasks ${
      Object.entries(t.tasks)
        .map(([st, n]) => `${st} ${n}`)
        .join(", ") || "none"
    }`,
  );
  const st = s.storage;
  out.push(
    "",
    `Storage (warns at ${Math.round(st.warnRatio * 100)} % of a limit)${
      st.account
        ? `  account: ${formatBytes(st.account.fileBytes)} on disk${st.account.maxFileBytes > 0 ? ` of ${formatBytes(st.account.maxFileBytes)}` : ""}, ${formatBytes(st.account.memoryBytes)} in memory`
        : ""
    }`,
    table(
      [
        ["stream / bucket", "kind", "stored", "limit", "used", "kept for", "replicas"],
        ...st.items.map((i) =>
          i.exists
            ? [
                i.name,
                i.kind,
                i.limitedBy === "messages" ? `${i.messages} msgs` : formatBytes(i.bytes),
                i.limitedBy === "messages" ? `${i.maxMsgs} msgs` : formatBytes(i.maxBytes),
                `${Math.round(i.used * 100)} %${i.used >= st.warnRatio ? " HIGH" : ""}`,
                i.maxAgeMs > 0 ? formatDuration(i.maxAgeMs) : "-",
                String(i.replicas),
              ]
            : [i.name, i.kind, "MISSING", "-", "-", "-", "-"],
        ),
      ],
      new Set([2, 3, 4, 5, 6]),
    ),
  );
  out.push("", s.warnings.length ? "Warnings" : "Warnings: none");
  for (const w of s.warnings) out.push(`  ! ${w.message}`);
  return `${out.join("\n")}\n`;
}
