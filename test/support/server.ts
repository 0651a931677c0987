// Real nats-servers for tests: the local binary (default) on a free port in a temp dir, or a
// container (DOCSWARM_TEST_SERVER=container, needs testcontainers and a container engine). Every
// resource is registered with t.teardown as soon as it exists, so a failed assertion leaks nothing;
// teardowns run in reverse order, so agents stop before the coordinator, connections, the server.
import { readdir, readFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { ExecutionContext } from "ava";
import { AgentHost } from "../../agents/index.ts";
import { DocswarmClient } from "../../client/index.ts";
import { Coordinator } from "../../coordinator/index.ts";
import { EmbeddedNatsServer, type EmbeddedServerOptions } from "../../infra/index.ts";
import type { AutoscalerOptions, ProcessingConfig, TopologyOptions } from "../../schemas/index.ts";
import { connectNats, drainConnection, ensureTopology, type Topology } from "../../streams/index.ts";

export type ServerKind = "local" | "container";

/** A container honours only maxPayloadBytes; the other options need the local binary. */
export type TestServerOptions = EmbeddedServerOptions & {
  /** Defaults to DOCSWARM_TEST_SERVER, else "local". */
  kind?: ServerKind;
};

export type TestServer = {
  url: string;
  kind: ServerKind;
  /** The embedded server when kind is "local". */
  embedded: EmbeddedNatsServer | undefined;
  close(): Promise<void>;
};

export function serverKind(): ServerKind {
  const v = process.env.DOCSWARM_TEST_SERVER?.trim();
  if (!v || v === "local") return "local";
  if (v === "container") return "container";
  throw new Error(`DOCSWARM_TEST_SERVER='${v}': use 'local' (default) or 'container'`);
}

/** Starts a JetStream nats-server for one test; it is stopped (and its store removed) on teardown. */
export async function startServer(t: ExecutionContext, opts: TestServerOptions = {}): Promise<TestServer> {
  const kind = opts.kind ?? serverKind();
  const server = kind === "container" ? await startContainer(opts) : await startLocal(opts);
  t.teardown(() => server.close());
  return server;
}

async function startLocal(opts: TestServerOptions): Promise<TestServer> {
  // Without a port the launcher asks nats-server for a random free one.
  const { kind: _kind, ...embeddedOptions } = opts;
  const embedded = await EmbeddedNatsServer.start(embeddedOptions);
  return { url: embedded.url, kind: "local", embedded, close: () => embedded.close() };
}

// The parts of testcontainers used here; it is not a dependency, so it is typed locally.
type StartedContainer = {
  getHost(): string;
  getMappedPort(port: number): number;
  stop(): Promise<unknown>;
};
type ContainerBuilder = {
  withCommand(command: string[]): ContainerBuilder;
  withExposedPorts(...ports: number[]): ContainerBuilder;
  withCopyContentToContainer(files: Array<{ content: string; target: string }>): ContainerBuilder;
  withWaitStrategy(strategy: unknown): ContainerBuilder;
  start(): Promise<StartedContainer>;
};
type Testcontainers = {
  GenericContainer: new (image: string) => ContainerBuilder;
  Wait: { forLogMessage(message: RegExp | string): unknown };
};

export class TestcontainersMissingError extends Error {
  constructor(options?: ErrorOptions) {
    super(
      "DOCSWARM_TEST_SERVER=container needs the 'testcontainers' package, which is not a dependency of " +
        "docswarm: run `npm i -D testcontainers`. A running container engine (Docker or Podman) is needed " +
        "too. Unset DOCSWARM_TEST_SERVER to use the local nats-server binary instead.",
      options,
    );
    this.name = "TestcontainersMissingError";
  }
}

async function loadTestcontainers(): Promise<Testcontainers> {
  // A variable specifier keeps tsc from resolving a module that is not installed.
  const specifier = "testcontainers";
  try {
    return (await import(specifier)) as Testcontainers;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND")
      throw new TestcontainersMissingError({ cause: err });
    throw err;
  }
}

async function startContainer(opts: TestServerOptions): Promise<TestServer> {
  const { GenericContainer, Wait } = await loadTestcontainers();
  const image = process.env.DOCSWARM_TEST_NATS_IMAGE ?? "nats:2.12";
  const config = [
    `max_payload: ${opts.maxPayloadBytes ?? 1024 * 1024}`,
    `jetstream { store_dir: "/tmp/docswarm-js" }`,
  ].join("\n");
  const container = await new GenericContainer(image)
    .withCopyContentToContainer([{ content: config, target: "/etc/docswarm-test.conf" }])
    .withCommand(["-c", "/etc/docswarm-test.conf", "-js"])
    .withExposedPorts(4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .start();
  const url = `nats://${container.getHost()}:${container.getMappedPort(4222)}`;
  let stopping: Promise<void> | undefined;
  return {
    url,
    kind: "container",
    embedded: undefined,
    close: () => {
      stopping ??= container.stop().then(() => undefined);
      return stopping;
    },
  };
}

/**
 * A NATS connection drained (within a bound) on teardown: a plain one (no reconnect loop) by default, or with
 * `reconnect` the one every docswarm process opens (streams' connectNats, reconnecting forever).
 */
export async function connectTo(
  t: ExecutionContext,
  url: string,
  name = "docswarm-test",
  options: { reconnect?: boolean } = {},
): Promise<NatsConnection> {
  const nc = options.reconnect
    ? await connectNats({ servers: url, name })
    : await connect({ servers: url, name, maxReconnectAttempts: 0 });
  t.teardown(() => drainConnection(nc));
  return nc;
}

/** A server with the docswarm topology, and a reconnecting connection to it. */
export async function startTopology(t: ExecutionContext, topology: TopologyOptions = {}) {
  const server = await startServer(t);
  const nc = await connectTo(t, server.url, "docswarm-test", { reconnect: true });
  await ensureTopology(nc, topology);
  return { server, nc, url: server.url };
}

export type LogLine = { level: string; msg: string; fields?: Record<string, unknown> };

export type StartSwarmOptions = {
  agents?: number;
  server?: TestServerOptions;
  topology?: TopologyOptions;
  processing?: Partial<ProcessingConfig>;
  stages?: string[];
  slots?: number;
  /** Coordinator autoscaler settings, and the host following them within hostMin/hostMax. */
  autoscale?: AutoscalerOptions & { hostMin?: number; hostMax?: number };
};

export type TestSwarm = {
  server: TestServer;
  url: string;
  topology: Topology;
  /** The test's own connection. */
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  client: DocswarmClient;
  coordinator: Coordinator;
  host: AgentHost;
  /** Warnings and errors the coordinator and agents logged (for failure messages). */
  logs: LogLine[];
};

/** Absolute path of a test stage module under test/fixtures/stages/. */
export function stagePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/stages/${name}.ts`, import.meta.url));
}

/** A server with the topology, a coordinator and an agent host with `agents` agents. */
export async function startSwarm(t: ExecutionContext, opts: StartSwarmOptions = {}): Promise<TestSwarm> {
  const server = await startServer(t, opts.server);
  const nc = await connectTo(t, server.url);
  const topology = await ensureTopology(nc, opts.topology);
  const logs: LogLine[] = [];
  const onLog = (level: string, msg: string, fields?: Record<string, unknown>) => {
    if (level === "warn" || level === "error") logs.push({ level, msg, ...(fields && { fields }) });
  };
  const coordinator = await Coordinator.start({
    servers: server.url,
    topology: topology.config,
    onLog,
    ...(opts.autoscale && { autoscale: opts.autoscale }),
  });
  t.teardown(() => coordinator.close());
  const host = await AgentHost.start({
    servers: server.url,
    agents: opts.agents ?? 2,
    ...(opts.stages && { stages: opts.stages }),
    ...(opts.slots && { slots: opts.slots }),
    ...(opts.topology && { topology: opts.topology }),
    ...(opts.processing && { processing: opts.processing }),
    ...(opts.autoscale && {
      autoscale: {
        min: opts.autoscale.hostMin ?? 1,
        max: opts.autoscale.hostMax ?? 8,
        ...(opts.autoscale.intervalMs && { intervalMs: opts.autoscale.intervalMs }),
      },
    }),
    onLog,
  });
  // The server goes away right after: nothing to hand open pull requests back to.
  t.teardown(() => host.close({ abandonPulls: true }));
  return {
    server,
    url: server.url,
    topology,
    nc,
    js: jetstream(nc),
    jsm: await jetstreamManager(nc),
    client: new DocswarmClient(nc),
    coordinator,
    host,
    logs,
  };
}

/**
 * The embedded nats-server listening on `url`: its pid, from the ports file nats-server writes
 * (`nats-server_<pid>.ports`), and the launcher's temp dir (under `tmp`) holding that file.
 */
export async function findEmbeddedServer(
  url: string,
  tmp: string = tmpdir(),
): Promise<{ pid: number; dir: string } | undefined> {
  const dirs = (await readdir(tmp).catch(() => [])).filter((d) => d.startsWith("docswarm-nats-"));
  for (const d of dirs) {
    const dir = join(tmp, d);
    for (const f of await readdir(dir).catch(() => [])) {
      const m = /_(\d+)\.ports$/.exec(f);
      if (!m) continue;
      // Another test's server may be writing its ports file right now: half a file is not ours.
      const text = await readFile(join(dir, f), "utf8").catch(() => "{}");
      let ports: { nats?: string[] };
      try {
        ports = JSON.parse(text) as { nats?: string[] };
      } catch {
        continue;
      }
      if (ports.nats?.includes(url)) return { pid: Number(m[1]), dir };
    }
  }
  return undefined;
}

/** Whether something accepts TCP connections at the host and port of `url`. */
export function acceptsConnections(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
