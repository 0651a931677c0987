// The parent side of bench/agent-process.ts: spawns an agent host process, asks it for its RSS,
// stops it (or SIGKILLs it) and always reaps it.
import { type ChildProcess, fork } from "node:child_process";
import type { AgentHostOptions } from "../agents/index.ts";
import type { ChildReply } from "./agent-process.ts";
import type { Cleanups } from "./lifecycle.ts";

const script = new URL("./agent-process.ts", import.meta.url);

export class AgentChild {
  readonly pid: number;
  readonly hostId: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #cleanup: { run: () => Promise<void> };

  private constructor(child: ChildProcess, ready: { hostId: string; pid: number }, cleanups: Cleanups) {
    this.#child = child;
    // A send on a closed channel (the child is going away) reports here; callers see a rejection.
    child.on("error", () => {});
    this.pid = ready.pid;
    this.hostId = ready.hostId;
    this.#exited = new Promise((r) => {
      if (child.exitCode !== null || child.signalCode !== null) r();
      else child.once("exit", () => r());
    });
    this.#cleanup = cleanups.push(() => this.stop());
  }

  static async start(
    options: AgentHostOptions,
    cleanups: Cleanups,
    timeoutMs = 120_000,
  ): Promise<AgentChild> {
    const child = fork(script, [JSON.stringify(options)], {
      execArgv: [],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const kill = cleanups.push(() => {
      child.kill("SIGKILL");
    });
    try {
      const ready = await new Promise<{ hostId: string; pid: number }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("agent process did not start in time")), timeoutMs);
        child.once("exit", (code) => reject(new Error(`agent process exited with code ${code}`)));
        child.on("message", (m: ChildReply) => {
          if (m.t === "ready") {
            clearTimeout(timer);
            resolve(m);
          }
        });
      });
      kill.drop(); // the child's own stop() takes over
      return new AgentChild(child, ready, cleanups);
    } catch (err) {
      await kill.run();
      throw err;
    }
  }

  rss(): Promise<number> {
    if (!this.#child.connected) return Promise.reject(new Error("agent process is gone"));
    return new Promise((resolve, reject) => {
      const onMessage = (m: ChildReply) => {
        if (m.t !== "rss") return;
        this.#child.off("message", onMessage);
        resolve(m.rss);
      };
      this.#child.on("message", onMessage);
      this.#child.send({ t: "rss" }, (err) => {
        if (err) {
          this.#child.off("message", onMessage);
          reject(err);
        }
      });
    });
  }

  /** SIGKILL: no goodbye to NATS, nothing handed back. */
  kill(): void {
    this.#child.kill("SIGKILL");
  }

  /** Asks the host to drain and exit; SIGKILL after a grace period. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#child.connected) this.#child.send({ t: "stop" });
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await this.#cleanup.run();
  }
}
