// Long-running roles: `up` (NATS + coordinator + agents + dashboard), `agent`, `coordinator`. Each
// runs until Ctrl-C or SIGTERM, then shuts down cleanly (agents finish their tasks in flight), and
// each can serve its own Prometheus metrics on --metrics-port.
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { serveChaosControl } from "../../agents/chaos-control.ts";
import { AgentHost } from "../../agents/index.ts";
import { serveCoordinatorChaos } from "../../coordinator/chaos-control.ts";
import { Coordinator } from "../../coordinator/index.ts";
import { Dashboard } from "../../dashboard/index.ts";
import { authFromDir } from "../../infra/index.ts";
import { startMetricsServer } from "../../observability/index.ts";
import { type NatsConnectionConfig, type TopologyConfig, validate } from "../../schemas/index.ts";
import { authOf, connectNats, displayServers } from "../../streams/index.ts";
import { Swarm, type SwarmOptions } from "../../swarm/index.ts";
import { CONNECTION_OPTIONS, type CommandConnection, commandConnection } from "../connection-flags.ts";
import { ENGINE_OPTIONS, engineOption } from "../engine-options.ts";
import { UsageError } from "../errors.ts";
import { firstConnection } from "../first-connection.ts";
import type { LogFn } from "../log.ts";
import { createLogger } from "../log.ts";
import { guardRoleProcess } from "../role-guards.ts";
import { roleTopology } from "../role-topology.ts";
import { onShutdown, untilSignal } from "../signals.ts";
import { printDashboard } from "./dashboard.ts";

const AgentArgs = z.object({
  agents: z.coerce.number().int().min(1).max(512),
  stages: z.string().min(1),
  slots: z.coerce.number().int().min(1).max(10_000),
  replicas: z.coerce.number().int().min(1).max(5).optional(),
  "heap-mb": z.coerce.number().int().min(64).max(65_536),
});

/** Built-in names as given; module paths made absolute (agent threads load them). */
export function stageList(stages: string, extra: string[] = []): string[] {
  return [...stages.split(","), ...extra]
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (/[/\\.]/.test(s) && !/^[a-z]+:/.test(s) ? resolve(s) : s));
}

const MetricsArgs = z.object({
  "metrics-port": z.coerce.number().int().min(0).max(65535).optional(),
  "metrics-host": z.string().min(1),
});

const METRICS_OPTIONS = {
  "metrics-port": { type: "string" },
  "metrics-host": { type: "string", default: "127.0.0.1" },
} as const;

/** Starts this process's Prometheus endpoint when --metrics-port is given (before anything records). */
async function serveMetrics(values: Record<string, unknown>, role: string): Promise<void> {
  const args = validate(MetricsArgs, values);
  if (!args.ok) throw new UsageError(args.message);
  const port = args.value["metrics-port"];
  if (port === undefined) return;
  const server = await startMetricsServer({
    port,
    host: args.value["metrics-host"],
    serviceName: `docswarm-${role}`,
  });
  onShutdown(() => server.close());
  process.stdout.write(`docswarm ${role}: metrics at ${server.url}\n`);
}

/**
 * A role's start: wait for NATS, then check the topology: create what is missing (with the settings
 * in force), never change what exists; where these credentials may not create it (the admin's
 * `docswarm init` owns it), wait for it. The settings in force, or undefined on Ctrl-C.
 */
async function roleSetup(
  config: NatsConnectionConfig,
  role: string,
  replicas: number | undefined,
  log: LogFn,
): Promise<TopologyConfig | undefined> {
  const nc = await firstConnection(config, `docswarm-${role}-setup`, log);
  if (!nc) return undefined;
  try {
    return await roleTopology(nc, replicas === undefined ? {} : { replicas }, true, log);
  } finally {
    await nc.close();
  }
}

export async function upCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      agents: { type: "string", short: "a", default: String(availableParallelism()) },
      port: { type: "string" },
      "dashboard-port": { type: "string", default: "7070" },
      "dashboard-host": { type: "string", default: "127.0.0.1" },
      "no-dashboard": { type: "boolean", default: false },
      "dashboard-token": { type: "string", default: process.env.DOCSWARM_DASHBOARD_TOKEN },
      "no-dashboard-auth": { type: "boolean", default: false },
      "show-text": { type: "boolean", default: false },
      ...METRICS_OPTIONS,
      ...CONNECTION_OPTIONS,
    },
  });
  const dashboardPort = validate(z.coerce.number().int().min(0).max(65535), values["dashboard-port"]);
  if (!dashboardPort.ok) throw new UsageError(`--dashboard-port: ${dashboardPort.message}`);
  const agents = validate(z.coerce.number().int().min(0).max(512), values.agents);
  if (!agents.ok) throw new UsageError(`--agents: ${agents.message}`);
  const port =
    values.port === undefined ? undefined : validate(z.coerce.number().int().min(0).max(65535), values.port);
  if (port && !port.ok) throw new UsageError(`--port: ${port.message}`);
  const log = createLogger("info", { role: "up" });
  await serveMetrics(values, "up");
  const conn = commandConnection(values, "admin");
  const swarm = await Swarm.initialize({
    ...(conn.explicitServer && { natsUrl: conn.config.servers.join(",") }),
    ...(port?.ok && { embedded: { port: port.value } }),
    ...swarmAuth(conn),
    agents: agents.value,
    onLog: log,
  });
  onShutdown(() => swarm.shutdown());
  process.stdout.write(
    `docswarm is up: NATS_URL=${swarm.url}  (${agents.value} agents, coordinator; Ctrl-C stops)\n`,
  );
  if (!values["no-dashboard"]) {
    const start = (port: number) =>
      Dashboard.start({
        servers: swarm.url,
        auth: conn.authDir ? authFromDir(conn.authDir, "observer") : authOf(conn.config),
        port,
        host: values["dashboard-host"],
        ...(values["dashboard-token"] && { token: values["dashboard-token"] }),
        noAuth: values["no-dashboard-auth"],
        showText: values["show-text"],
        onLog: log,
      });
    // The default port may be taken (a second swarm on this machine): any free one will do then.
    const dashboard = await start(dashboardPort.value).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EADDRINUSE" || dashboardPort.value === 0) throw err;
      return start(0);
    });
    onShutdown(() => dashboard.close());
    printDashboard(dashboard);
  }
  await untilSignal();
  return 0;
}

export async function agentCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      agents: { type: "string", short: "a", default: String(availableParallelism()) },
      stages: { type: "string", default: "split,extract,merge" },
      stage: { type: "string", multiple: true, default: [] },
      slots: { type: "string", default: "1" },
      // Replicas for what this role creates because it is missing; existing streams keep theirs.
      replicas: { type: "string" },
      "heap-mb": { type: "string", default: "2048" },
      engine: ENGINE_OPTIONS.engine,
      autoscale: { type: "boolean", default: false },
      min: { type: "string", default: "1" },
      max: { type: "string", default: "16" },
      ...METRICS_OPTIONS,
      ...CONNECTION_OPTIONS,
    },
  });
  const { stage: extra, autoscale, min, max, engine: engineName, ...rest } = values;
  const engine = engineOption(engineName);
  const bounds = validate(ScaleBounds, { min, max });
  if (!bounds.ok) throw new UsageError(bounds.message);
  const args = validate(AgentArgs, rest);
  if (!args.ok) throw new UsageError(args.message);
  const { config } = commandConnection(values, "agent");
  const url = displayServers(config.servers);
  const log = createLogger("info", { role: "agent" });
  await serveMetrics(values, "agent");
  guardRoleProcess(log);
  const topology = await roleSetup(config, "agent", args.value.replicas, log);
  if (!topology) return 130;
  const host = await AgentHost.start({
    servers: config.servers,
    auth: authOf(config),
    agents: args.value.agents,
    stages: stageList(args.value.stages, extra),
    slots: args.value.slots,
    agentHeapMb: args.value["heap-mb"],
    topology,
    ...(engine && { processing: { engine } }),
    onLog: log,
    ...(autoscale && { autoscale: bounds.value }),
  });
  onShutdown(() => host.close());
  if (process.env.DOCSWARM_CHAOS === "1") {
    const control = await connectNats({ ...config, name: "docswarm-chaos-control" });
    serveChaosControl(control, host);
    onShutdown(() => control.close());
  }
  log("info", "agent host started", { hostId: host.hostId, agents: host.size, url, pid: process.pid });
  await untilSignal();
  return 0;
}

const ScaleBounds = z
  .object({ min: z.coerce.number().int().min(0).max(512), max: z.coerce.number().int().min(1).max(512) })
  .refine((b) => b.min <= b.max, "--min must not exceed --max");

export async function coordinatorCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      replicas: { type: "string" },
      autoscale: { type: "boolean", default: false },
      min: { type: "string", default: "1" },
      max: { type: "string", default: "16" },
      "tasks-per-agent": { type: "string", default: "4" },
      ...METRICS_OPTIONS,
      ...CONNECTION_OPTIONS,
    },
  });
  const bounds = validate(ScaleBounds, { min: values.min, max: values.max });
  if (!bounds.ok) throw new UsageError(bounds.message);
  const perAgent = validate(z.coerce.number().positive(), values["tasks-per-agent"]);
  if (!perAgent.ok) throw new UsageError(`--tasks-per-agent: ${perAgent.message}`);
  const replicas = validate(z.coerce.number().int().min(1).max(5).optional(), values.replicas);
  if (!replicas.ok) throw new UsageError(`--replicas: ${replicas.message}`);
  const { config } = commandConnection(values, "coordinator");
  const url = displayServers(config.servers);
  const log = createLogger("info", { role: "coordinator" });
  await serveMetrics(values, "coordinator");
  guardRoleProcess(log);
  const topology = await roleSetup(config, "coordinator", replicas.value, log);
  if (!topology) return 130;
  const coordinator = await Coordinator.start({
    servers: config.servers,
    auth: authOf(config),
    topology,
    onLog: log,
    ...(values.autoscale && { autoscale: { ...bounds.value, tasksPerAgent: perAgent.value } }),
  });
  onShutdown(() => coordinator.close());
  if (process.env.DOCSWARM_CHAOS === "1") {
    const control = await connectNats({ ...config, name: "docswarm-chaos-control" });
    serveCoordinatorChaos(control, coordinator);
    onShutdown(() => control.close());
  }
  log("info", "coordinator started", {
    url,
    coordinatorId: coordinator.id,
    role: coordinator.isLeader ? "leader" : "standby",
    pid: process.pid,
  });
  await untilSignal();
  return 0;
}

/**
 * What a swarm in this process connects with: with --auth DIR each role its own user from DIR (and
 * an embedded server DIR's accounts and TLS); otherwise every role the one set of credentials given.
 */
export function swarmAuth(conn: CommandConnection): Pick<SwarmOptions, "auth" | "authDir"> {
  if (conn.authDir) return { authDir: conn.authDir };
  return { auth: authOf(conn.config) };
}
