// Long-running roles: `up` (NATS + coordinator + agents), `agent`, `coordinator`. Each runs until
// Ctrl-C or SIGTERM, then shuts down cleanly (agents finish their tasks in flight).
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { z } from "zod";
import { serveChaosControl } from "../../agents/chaos-control.ts";
import { AgentHost } from "../../agents/index.ts";
import { Coordinator } from "../../coordinator/index.ts";
import { validate } from "../../schemas/index.ts";
import { connectNats, ensureTopology, natsUrlFromEnv } from "../../streams/index.ts";
import { Swarm } from "../../swarm/index.ts";
import { createLogger } from "../log.ts";
import { guardRoleProcess } from "../role-guards.ts";
import { onShutdown, untilSignal } from "../signals.ts";
import { UsageError } from "../usage.ts";

const AgentArgs = z.object({
  agents: z.coerce.number().int().min(1).max(512),
  stages: z.string().min(1),
  slots: z.coerce.number().int().min(1).max(10_000),
  replicas: z.coerce.number().int().min(1).max(5),
});

function requireUrl(command: string): string {
  const url = natsUrlFromEnv();
  if (!url)
    throw new UsageError(`docswarm ${command} needs NATS_URL (for example NATS_URL=nats://127.0.0.1:4222)`);
  return url;
}

export async function upCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      agents: { type: "string", short: "a", default: String(availableParallelism()) },
      port: { type: "string" },
    },
  });
  const agents = validate(z.coerce.number().int().min(0).max(512), values.agents);
  if (!agents.ok) throw new UsageError(`--agents: ${agents.message}`);
  const port =
    values.port === undefined ? undefined : validate(z.coerce.number().int().min(0).max(65535), values.port);
  if (port && !port.ok) throw new UsageError(`--port: ${port.message}`);
  const log = createLogger("info");
  const natsUrl = natsUrlFromEnv();
  const swarm = await Swarm.initialize({
    ...(natsUrl && { natsUrl }),
    ...(port?.ok && { embedded: { port: port.value } }),
    agents: agents.value,
    onLog: log,
  });
  onShutdown(() => swarm.shutdown());
  process.stdout.write(
    `docswarm is up: NATS_URL=${swarm.url}  (${agents.value} agents, coordinator; Ctrl-C stops)\n`,
  );
  await untilSignal();
  return 0;
}

export async function agentCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      agents: { type: "string", short: "a", default: String(availableParallelism()) },
      stages: { type: "string", default: "split,extract,merge" },
      slots: { type: "string", default: "1" },
      replicas: { type: "string", default: "1" },
    },
  });
  const args = validate(AgentArgs, values);
  if (!args.ok) throw new UsageError(args.message);
  const url = requireUrl("agent");
  const log = createLogger("info");
  guardRoleProcess(log);
  const topology = { replicas: args.value.replicas };
  const nc = await connectNats({ servers: url, name: "docswarm-agent-setup" });
  await ensureTopology(nc, topology).finally(() => nc.close());
  const host = await AgentHost.start({
    servers: url,
    agents: args.value.agents,
    stages: args.value.stages
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    slots: args.value.slots,
    topology,
    onLog: log,
  });
  onShutdown(() => host.close());
  if (process.env.DOCSWARM_CHAOS === "1") {
    const control = await connectNats({ servers: url, name: "docswarm-chaos-control" });
    serveChaosControl(control, host);
    onShutdown(() => control.close());
  }
  log("info", "agent host started", { hostId: host.hostId, agents: host.size, url, pid: process.pid });
  await untilSignal();
  return 0;
}

export async function coordinatorCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { replicas: { type: "string", default: "1" } } });
  const replicas = validate(z.coerce.number().int().min(1).max(5), values.replicas);
  if (!replicas.ok) throw new UsageError(`--replicas: ${replicas.message}`);
  const url = requireUrl("coordinator");
  const log = createLogger("info");
  guardRoleProcess(log);
  const nc = await connectNats({ servers: url, name: "docswarm-coordinator-setup" });
  await ensureTopology(nc, { replicas: replicas.value }).finally(() => nc.close());
  const coordinator = await Coordinator.start({ servers: url, onLog: log });
  onShutdown(() => coordinator.close());
  log("info", "coordinator started", {
    url,
    coordinatorId: coordinator.id,
    role: coordinator.isLeader ? "leader" : "standby",
    pid: process.pid,
  });
  await untilSignal();
  return 0;
}
