// The partition drill's NATS cluster: one nats-server per lab namespace, each running the deployment
// guide's node config (infra/nats/cluster.conf) as it is, with its name and store from the
// environment. The bash guard the embedded server uses stops a node when the drill dies.
import type { ChildProcess } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findNatsServer, SERVER_GUARD } from "../../infra/index.ts";
import type { NetLab } from "./netlab.ts";

export const CLUSTER_CONFIG = fileURLToPath(new URL("../../infra/nats/cluster.conf", import.meta.url));
/** The route names in CLUSTER_CONFIG: the lab names its NATS members after them. */
export const NODE_NAMES = ["nats-1", "nats-2", "nats-3"] as const;
export const CLIENT_PORT = 4222;
export const MONITOR_PORT = 8222;

export type NatsNode = {
  name: string;
  ip: string;
  /** From the drill (root namespace), by address. */
  url: string;
  /** From inside the lab, by name (as the deployment guide's clients do). */
  labUrl: string;
  logFile: string;
  child: ChildProcess;
};

/** Starts every node and waits until each answers /healthz (the cluster may still be electing). */
export async function startCluster(lab: NetLab, dir: string): Promise<NatsNode[]> {
  const bin = findNatsServer().path;
  const nodes = await Promise.all(
    NODE_NAMES.map(async (name) => {
      const store = join(dir, name);
      await mkdir(store, { recursive: true });
      const logFile = join(dir, `${name}.log`);
      const child = lab.spawn(
        name,
        "bash",
        ["-c", SERVER_GUARD, "guard", bin, "-c", CLUSTER_CONFIG, "-l", logFile],
        {
          env: { ...process.env, NATS_NODE_NAME: name, NATS_STORE_DIR: store },
          stdio: ["pipe", "ignore", "ignore"],
        },
      );
      const ip = lab.member(name).ip;
      return {
        name,
        ip,
        url: `nats://${ip}:${CLIENT_PORT}`,
        labUrl: `nats://${name}:${CLIENT_PORT}`,
        logFile,
        child,
      };
    }),
  );
  await Promise.all(nodes.map((n) => waitHealthy(n)));
  return nodes;
}

async function waitHealthy(node: NatsNode, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (node.child.exitCode !== null) break;
    const ok = await fetch(`http://${node.ip}:${MONITOR_PORT}/healthz`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.status < 500)
      .catch(() => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = await readFile(node.logFile, "utf8").catch(() => "");
  throw new Error(`nats node ${node.name} did not come up:\n${log.trim().split("\n").slice(-10).join("\n")}`);
}

export type ServerLogLine = { node: string; at: number; level: "WRN" | "ERR" | "INF"; text: string };

/** A node's warnings and errors (and its INF lines about routes, leaders and quorum). */
export async function readServerLog(node: NatsNode): Promise<ServerLogLine[]> {
  const text = await readFile(node.logFile, "utf8").catch(() => "");
  const out: ServerLogLine[] = [];
  // [pid] 2026/12/01 22:24:26.371407 [WRN] message
  const line = /^\[\d+\] (\d{4})\/(\d\d)\/(\d\d) (\d\d:\d\d:\d\d\.\d+) \[(WRN|ERR|INF)\] (.*)$/;
  const notable = /route|leader|quorum|lost|elect|catchup|stall|slow consumer|stale/i;
  for (const l of text.split("\n")) {
    const m = line.exec(l);
    if (!m) continue;
    const level = m[5] as ServerLogLine["level"];
    if (level === "INF" && !notable.test(m[6]!)) continue;
    const at = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]!.slice(0, 12)}`).getTime();
    out.push({ node: node.name, at, level, text: m[6]! });
  }
  return out;
}
