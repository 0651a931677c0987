// Starting docswarm roles (`docswarm agent`, `docswarm coordinator`) as separate processes against a
// NATS URL, the way an operator runs them, for chaos, soak and load runs and the process tests.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { CLI } from "./cli.ts";

export type RoleProcess = {
  role: "agent" | "coordinator";
  pid: number;
  child: ChildProcess;
  /** Parsed JSON log lines the process wrote to stderr. */
  logs: Array<Record<string, unknown>>;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  /** Resolves once the role logged that it started. */
  ready: Promise<void>;
  kill(signal?: NodeJS.Signals): void;
};

/**
 * `launcher` runs the role through another command, which must exec it (the partition drill's
 * `ip netns exec <namespace>`), so the pid is still the role's.
 */
export function spawnRole(
  role: "agent" | "coordinator",
  natsUrl: string,
  args: string[] = [],
  env: Record<string, string> = {},
  launcher: string[] = [],
): RoleProcess {
  const [command, ...prefix] = [...launcher, process.execPath];
  const child = spawn(command!, [...prefix, CLI, role, ...args], {
    env: {
      ...process.env,
      NATS_URL: natsUrl,
      DOCSWARM_EXIT_WITH_PARENT: "1",
      DOCSWARM_LOG_LEVEL: process.env.DOCSWARM_ROLE_LOG_LEVEL ?? "info",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const logs: RoleProcess["logs"] = [];
  const readyMsg = role === "agent" ? "agent host started" : "coordinator started";
  let markReady!: () => void;
  let failReady!: (err: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  let buffer = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    buffer += chunk;
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf("\n");
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === readyMsg) markReady();
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      failReady(new Error(`${role} exited (${code ?? signal}) before it was ready`));
      resolve(code ?? signal ?? -1);
    });
  });
  ready.catch(() => {});
  return {
    role,
    pid: child.pid ?? -1,
    child,
    logs,
    exited,
    ready,
    kill: (signal = "SIGKILL") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** Resident set size of a process in bytes (Linux /proc), or undefined when it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Stops processes: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopAll(processes: RoleProcess[], graceMs = 5000): Promise<void> {
  await Promise.all(
    processes.map(async (p) => {
      p.kill("SIGTERM");
      const t = setTimeout(() => p.kill("SIGKILL"), graceMs);
      await p.exited;
      clearTimeout(t);
    }),
  );
}
