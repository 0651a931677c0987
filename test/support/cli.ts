// Running the docswarm CLI as a child process, with its own TMPDIR so anything it leaves behind
// (an embedded nats-server, its store) can be told apart from what parallel tests run.
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ExecutionContext } from "ava";

export const CLI = fileURLToPath(new URL("../../cli/docswarm.ts", import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A temp dir removed on teardown. */
export async function tempDir(t: ExecutionContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `docswarm-test-${prefix}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export type CliRun = {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/**
 * Starts `node cli/docswarm.ts <args>` with NATS_URL unset (so it embeds its own server) and
 * TMPDIR set to `tmp`. The child is killed on teardown if it is still running.
 */
export function startCli(t: ExecutionContext, args: string[], tmp: string): CliRun {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, DOCSWARM_LOG_LEVEL: "warn" };
  delete env.NATS_URL;
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => {
    out += s;
  });
  child.stderr!.setEncoding("utf8").on("data", (s: string) => {
    err += s;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs the CLI to completion. */
export async function runCli(
  t: ExecutionContext,
  args: string[],
  tmp: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = startCli(t, args, tmp);
  const { code } = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

export type CliResult = { code: number; stdout: string; stderr: string };

/** Runs the CLI as a user would (on the project's Node) with `env` added, e.g. a NATS_URL. */
export function runCliWithEnv(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
  });
}

/** Running processes (nats-servers and their guards) whose arguments name nats-server and `dir`. */
export function natsServersUnder(dir: string): string[] {
  const ps = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return ps
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.includes("nats-server") && l.includes(dir));
}

/** Whether a process with this pid exists (signal 0 probes without signalling). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
