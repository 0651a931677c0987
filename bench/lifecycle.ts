// What the benchmark starts, it stops: a stack of cleanups run on success, on errors and on Ctrl-C,
// and the NATS server the run uses (embedded on 127.0.0.1 unless NATS_URL is set).
import { readFileSync } from "node:fs";
import type { NatsConnection } from "@nats-io/transport-node";
import { EmbeddedNatsServer } from "../infra/index.ts";
import { connectNats, ensureTopology, natsUrlFromEnv } from "../streams/index.ts";

type Cleanup = () => Promise<void> | void;

export class Cleanups {
  readonly #stack: Cleanup[] = [];

  /** Registers fn; `run` runs it now (once) and `drop` forgets it. */
  push(fn: Cleanup): { run: () => Promise<void>; drop: () => void } {
    this.#stack.push(fn);
    const drop = () => {
      const i = this.#stack.lastIndexOf(fn);
      if (i >= 0) this.#stack.splice(i, 1);
    };
    return {
      drop,
      run: async () => {
        if (!this.#stack.includes(fn)) return;
        drop();
        await fn();
      },
    };
  }

  /** Runs every cleanup, newest first, even when some fail. */
  async run(): Promise<void> {
    while (this.#stack.length > 0) {
      const fn = this.#stack.pop()!;
      try {
        await fn();
      } catch {
        // Keep going: everything else must still stop.
      }
    }
  }
}

/** Ctrl-C / SIGTERM run the cleanups, then exit; a second signal exits at once. */
export function stopOnSignals(cleanups: Cleanups, log: (line: string) => void): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    log(`bench: ${signal}, stopping everything it started`);
    void cleanups.run().finally(() => process.exit(130));
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

export type BenchNats = {
  url: string;
  embedded: boolean;
  version: string;
  /** pid of nats-server when we started it (its CPU is reported), else undefined. */
  serverPid: number | undefined;
  /** A connection for the bench's own publishing and reading. */
  nc: NatsConnection;
};

/** The server's own pid: the embedded launcher runs it under a small bash guard. */
function natsServerPid(guardPid: number | undefined): number | undefined {
  if (guardPid === undefined) return undefined;
  try {
    const children = readFileSync(`/proc/${guardPid}/task/${guardPid}/children`, "utf8").trim().split(/\s+/);
    for (const c of children) {
      const comm = readFileSync(`/proc/${c}/comm`, "utf8").trim();
      if (comm.startsWith("nats-server")) return Number(c);
    }
  } catch {
    // Not Linux, or the guard already exited.
  }
  return undefined;
}

export async function startNats(cleanups: Cleanups): Promise<BenchNats> {
  const envUrl = natsUrlFromEnv();
  let url = envUrl;
  let serverPid: number | undefined;
  if (!url) {
    const server = await EmbeddedNatsServer.start({ host: "127.0.0.1" });
    cleanups.push(() => server.close());
    url = server.url;
    serverPid = natsServerPid(server.pid);
  }
  const nc = await connectNats({ servers: url, name: "docswarm-bench" });
  cleanups.push(() => nc.drain().catch(() => {}));
  await ensureTopology(nc);
  return { url, embedded: !envUrl, version: nc.info?.version ?? "unknown", serverPid, nc };
}
