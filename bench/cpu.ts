// CPU accounting from /proc (Linux): per process, and per thread so agent threads (named
// "agent <id>" by the agent host) can be told apart from the host's main thread and V8's helpers.
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";

// USER_HZ: the unit of utime/stime in /proc; 100 on every Linux we run on.
const TICK_MS = 10;

function statTicks(path: string): { comm: string; ticks: number } | undefined {
  try {
    const text = readFileSync(path, "utf8");
    const open = text.indexOf("(");
    const close = text.lastIndexOf(")");
    const rest = text.slice(close + 2).split(" ");
    // After "pid (comm) ": state is field 3, utime 14, stime 15.
    return { comm: text.slice(open + 1, close), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

/** CPU time of a whole process in ms (every thread, live or gone). */
export function processCpuMs(pid: number): number {
  return (statTicks(`/proc/${pid}/stat`)?.ticks ?? Number.NaN) * TICK_MS;
}

/** CPU time in ms of the threads of `pid` whose name starts with `prefix`, and how many there are. */
export function threadsCpuMs(pid: number, prefix: string): { ms: number; threads: number } {
  let ms = 0;
  let threads = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const s = statTicks(`/proc/${pid}/task/${tid}/stat`);
      if (s?.comm.startsWith(prefix)) {
        ms += s.ticks * TICK_MS;
        threads++;
      }
    }
  } catch {
    return { ms: Number.NaN, threads: 0 };
  }
  return { ms, threads };
}

/** CPU ms per thread-name group of `pid` ("agent" for agent threads, else the thread's name). */
export function threadGroupsCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const s = statTicks(`/proc/${pid}/task/${tid}/stat`);
      if (!s) continue;
      const group = s.comm.startsWith("agent ") ? "agents" : s.comm.replace(/[-_ ]?\d+$/, "");
      out.set(group, (out.get(group) ?? 0) + s.ticks * TICK_MS);
    }
  } catch {
    // not Linux
  }
  return out;
}

/** A window over which CPU use of the agents, this process and nats-server is measured. */
export class CpuWindow {
  readonly #serverPid: number | undefined;
  readonly #startWall = performance.now();
  readonly #startSelf = process.cpuUsage();
  readonly #startAgents: number;
  readonly #startServer: number;
  readonly #startGroups = threadGroupsCpuMs(process.pid);

  constructor(serverPid: number | undefined) {
    this.#serverPid = serverPid;
    this.#startAgents = threadsCpuMs(process.pid, "agent ").ms;
    this.#startServer = serverPid ? processCpuMs(serverPid) : Number.NaN;
  }

  /** CPU used since construction, as fractions of one core over the wall time. */
  end(): {
    wallMs: number;
    agentCores: number;
    agentThreads: number;
    processCores: number;
    serverCores: number;
    /** CPU ms by thread group of this process (live threads only). */
    groupsMs: Record<string, number>;
  } {
    const wallMs = performance.now() - this.#startWall;
    const self = process.cpuUsage(this.#startSelf);
    const agents = threadsCpuMs(process.pid, "agent ");
    const server = this.#serverPid ? processCpuMs(this.#serverPid) - this.#startServer : Number.NaN;
    const groupsMs: Record<string, number> = {};
    for (const [g, ms] of threadGroupsCpuMs(process.pid)) groupsMs[g] = ms - (this.#startGroups.get(g) ?? 0);
    return {
      groupsMs,
      wallMs,
      agentCores: (agents.ms - this.#startAgents) / wallMs,
      agentThreads: agents.threads,
      processCores: (self.user + self.system) / 1000 / wallMs,
      serverCores: server / wallMs,
    };
  }
}

export function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}
