// What each role logged about a fault: its warnings and errors (and leadership changes) from the
// fault's start until the swarm was whole again, grouped by message, per kind of process.
import type { ServerLogLine } from "./cluster.ts";
import type { FaultRecord, Role } from "./faults.ts";

/** Per source ("coordinator", "agent host", "nats-server"): messages with their counts, most first. */
export type LogSummary = Record<string, Array<{ msg: string; count: number }>>;

const LEADERSHIP = /elected|depos|resign|leader/i;
const AFTER_WHOLE_MS = 2000;

function windowOf(r: FaultRecord): [number, number] {
  return [r.injectedAt, r.healedAt + (r.recoveryMs ?? 0) + AFTER_WHOLE_MS];
}

/** Numbers, addresses and ids out, so the same message from different peers counts together. */
function normalize(text: string): string {
  return text
    .replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, "<addr>")
    .replace(/\b(rid|cid|sid):\d+\b/g, "$1:#")
    .replace(/\b[A-Za-z0-9]{8}\b(?=[^A-Za-z0-9]|$)/g, (w) =>
      /\d/.test(w) && /[A-Za-z]/.test(w) ? "<id>" : w,
    )
    .replace(/\b\d+(\.\d+)?(ms|s|µs)?\b/g, "#")
    .slice(0, 140);
}

function add(summary: Map<string, Map<string, number>>, source: string, msg: string): void {
  const m = summary.get(source) ?? new Map<string, number>();
  m.set(msg, (m.get(msg) ?? 0) + 1);
  summary.set(source, m);
}

export function summarizeLogs(records: FaultRecord[], roles: Role[], server: ServerLogLine[]): LogSummary {
  const summary = new Map<string, Map<string, number>>();
  for (const r of records) {
    const [from, to] = windowOf(r);
    for (const role of roles) {
      const source = role.process.role === "agent" ? "agent host" : "coordinator";
      for (const l of role.process.logs) {
        const at = typeof l.time === "number" ? l.time : 0;
        if (at < from || at > to) continue;
        const msg = String(l.msg ?? "");
        if (l.level === "warn" || l.level === "error" || LEADERSHIP.test(msg)) {
          const detail = typeof l.err === "string" ? `: ${normalize(l.err)}` : "";
          add(summary, source, `${l.level} ${msg}${detail}`);
        }
      }
    }
    for (const l of server)
      if (l.at >= from && l.at <= to) add(summary, "nats-server", `${l.level} ${normalize(l.text)}`);
  }
  const out: LogSummary = {};
  for (const [source, msgs] of summary)
    out[source] = [...msgs].map(([msg, count]) => ({ msg, count })).sort((a, b) => b.count - a.count);
  return out;
}
