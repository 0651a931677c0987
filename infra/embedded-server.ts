// Starts a private JetStream nats-server on a free loopback port with a temp store, and stops it
// on close(), on process exit and when its parent dies: a bash guard kills the server as soon as
// its stdin (a pipe from us) closes, so even `kill -9` of the parent leaves no orphan server. The
// guard runs in a session of its own, so the terminal's signals (Ctrl-C, the hangup when it
// closes) reach only us: the server keeps serving our agents while they finish, and we stop it.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { closeSteps } from "../streams/close-steps.ts";
import { EmbeddedServerError } from "./errors.ts";
import { ensureNatsServer } from "./nats-binary.ts";

export type EmbeddedServerOptions = {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Keeps JetStream data here instead of a temp dir that close() removes. */
  storeDir?: string;
  maxPayloadBytes?: number;
  /** Extra nats-server config appended verbatim (cluster blocks, accounts, ...). */
  extraConfig?: string;
  serverName?: string;
  startTimeoutMs?: number;
  /**
   * OS threads the server's Go runtime runs on (GOMAXPROCS). By default half the cores (at least
   * one), unless GOMAXPROCS is set in the environment: see defaultServerProcs().
   */
  maxProcs?: number;
};

/**
 * GOMAXPROCS for a server that shares its machine with agents. Go's scheduler keeps idle
 * processors spinning for work after every wake-up; with one per core that spinning takes CPU from
 * the agents beside it, which need every core. Measured on 2 cores (bench/profile-docs.ts, 500
 * small documents): nats-server 1.80 → 1.40 ms of CPU per document with 1 instead of 2, and no-op
 * tasks/s 11.3k → 14.5k (the server needs well under half the machine at either rate).
 */
export function defaultServerProcs(env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (env.GOMAXPROCS?.trim()) return undefined;
  return Math.max(1, Math.floor(availableParallelism() / 2));
}

// A guard that stops the server on TERM, INT or HUP (nats-server itself takes HUP as "reload its
// config" and would live on) and when the parent's pipe closes. The trap is set before the server
// starts, so a signal in between cannot orphan it. Usage: bash -c SERVER_GUARD guard <command...>,
// stdin a pipe from the parent (the partition drill starts cluster nodes through it too).
export const SERVER_GUARD = `
child=
trap 'kill -TERM $child 2>/dev/null; wait $child; exit 0' TERM INT HUP
"$@" </dev/null & child=$!
while kill -0 $child 2>/dev/null; do
  read -r -t 1 _ ; rc=$?
  if [ $rc -ne 0 ] && [ $rc -le 128 ]; then break; fi
done
kill -TERM $child 2>/dev/null; wait $child
`;

const live = new Set<EmbeddedNatsServer>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort for paths that skip close(): kill synchronously on exit.
  process.on("exit", () => {
    for (const s of live) s.killNow();
  });
}

export class EmbeddedNatsServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly version: string;
  readonly #child: ChildProcess;
  /** The nats-server process itself (the child is its guard). */
  readonly serverPid: number | undefined;
  readonly #ownsStore: boolean;
  readonly #exited: Promise<void>;
  #closing: Promise<void> | undefined;

  private constructor(init: {
    url: string;
    port: number;
    dir: string;
    version: string;
    child: ChildProcess;
    serverPid: number | undefined;
    ownsStore: boolean;
    exited: Promise<void>;
  }) {
    this.url = init.url;
    this.port = init.port;
    this.dir = init.dir;
    this.version = init.version;
    this.#child = init.child;
    this.serverPid = init.serverPid;
    this.#ownsStore = init.ownsStore;
    this.#exited = init.exited;
  }

  static async start(options: EmbeddedServerOptions = {}): Promise<EmbeddedNatsServer> {
    const bin = await ensureNatsServer();
    const dir = await mkdtemp(join(tmpdir(), "docswarm-nats-"));
    const storeDir = options.storeDir ?? join(dir, "js");
    const host = options.host ?? "127.0.0.1";
    const config = [
      `server_name: ${JSON.stringify(options.serverName ?? `docswarm-${process.pid}-${Date.now().toString(36)}`)}`,
      `listen: "${host}:${options.port || -1}"`,
      `ports_file_dir: ${JSON.stringify(dir)}`,
      `max_payload: ${options.maxPayloadBytes ?? 1024 * 1024}`,
      `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
      options.extraConfig ?? "",
    ].join("\n");
    const configFile = join(dir, "nats.conf");
    await writeFile(configFile, config);
    const logFile = join(dir, "nats.log");

    const procs = options.maxProcs ?? defaultServerProcs();
    const child = spawn("bash", ["-c", SERVER_GUARD, "guard", bin.path, "-c", configFile, "-l", logFile], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
      ...(procs !== undefined && { env: { ...process.env, GOMAXPROCS: String(procs) } }),
    });
    let exitCode: number | null = null;
    const exited = new Promise<void>((resolve) => {
      child.once("exit", (code) => {
        exitCode = code ?? -1;
        resolve();
      });
      child.once("error", () => resolve());
    });

    const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
    let url: string | undefined;
    let serverPid: number | undefined;
    try {
      while (!url) {
        if (exitCode !== null) throw new EmbeddedServerError(`nats-server exited early (code ${exitCode})`);
        if (Date.now() > deadline) throw new EmbeddedServerError("nats-server did not become ready in time");
        const ports = (await readdir(dir)).find((f) => f.endsWith(".ports"));
        if (ports) {
          serverPid = Number(/_(\d+)\.ports$/.exec(ports)?.[1]) || undefined;
          // The file can be caught half-written (even empty): unparsable means "not yet".
          const parsed = (await readFile(join(dir, ports), "utf8")
            .then(JSON.parse)
            .catch(() => ({}))) as { nats?: string[] };
          url = parsed.nats?.[0];
        }
        if (!url) await sleep(15);
      }
    } catch (err) {
      // TERM, not KILL: the guard's trap takes the server down with it; KILL would orphan it.
      child.kill("SIGTERM");
      const log = await readFile(logFile, "utf8").catch(() => "");
      await rm(dir, { recursive: true, force: true });
      const tail = log.trim().split("\n").slice(-10).join("\n");
      throw new EmbeddedServerError(`${(err as Error).message}\n${tail}`, { cause: err });
    }
    const server = new EmbeddedNatsServer({
      url,
      port: Number(new URL(url).port),
      dir,
      version: bin.version,
      child,
      serverPid,
      ownsStore: options.storeDir === undefined,
      exited,
    });
    live.add(server);
    installExitHook();
    return server;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Path of the server's log file, for diagnostics. */
  get logFile(): string {
    return join(this.dir, "nats.log");
  }

  close(): Promise<void> {
    this.#closing ??= closeSteps(
      async () => {
        // A store that close() deletes needs no orderly JetStream shutdown (~160 ms of the server's):
        // the server is killed outright, then its guard.
        if (this.#ownsStore && this.serverPid) {
          try {
            process.kill(this.serverPid, "SIGKILL");
          } catch {}
        }
        this.#child.kill("SIGTERM");
        const grace = new AbortController();
        const killed = await Promise.race([
          this.#exited.then(() => true),
          sleep(5000, false, { signal: grace.signal }).catch(() => false),
        ]);
        grace.abort();
        if (!killed) {
          // Stuck: kill the server itself too, or the guard's death would orphan it.
          if (this.serverPid) {
            try {
              process.kill(this.serverPid, "SIGKILL");
            } catch {}
          }
          this.#child.kill("SIGKILL");
          await this.#exited;
        }
      },
      () => live.delete(this),
      () => rm(this.#ownsStore ? this.dir : join(this.dir, "nats.conf"), { recursive: true, force: true }),
    );
    return this.#closing;
  }

  closed(): Promise<void> {
    return this.#exited;
  }

  /** Synchronous kill for process-exit paths; the guard takes the server down with it. */
  killNow(): void {
    this.#child.stdin?.destroy();
    this.#child.kill("SIGTERM");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
