// Swarm: everything on one machine for embedding: NATS (embedded unless a URL is given), the
// topology, a coordinator, an agent host and a client. The seed's SwarmCoordinator.
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { AgentHost, type AgentHostOptions } from "../agents/index.ts";
import { DocswarmClient, type SubmitOptions, type Submitted } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import {
  authFromDir,
  EmbeddedNatsServer,
  type EmbeddedServerOptions,
  embeddedAuthConfig,
} from "../infra/index.ts";
import type {
  AutoscalerOptions,
  CoordinatorStatus,
  FinalResult,
  NatsAuth,
  ProcessingConfig,
  TopologyOptions,
} from "../schemas/index.ts";
import {
  checkTopology,
  closeSteps,
  connectNats,
  drainConnection,
  ensureTopology,
  type Role,
} from "../streams/index.ts";
import { readCoordinatorStatus, readStatus, type SwarmStatus } from "./status.ts";

export type SwarmOptions = {
  /** A NATS server or cluster (comma-separated URLs); when absent an embedded server is started (and stopped on shutdown). */
  natsUrl?: string;
  embedded?: EmbeddedServerOptions;
  /** Credentials and TLS for every connection this swarm makes (overridden per role by `roles`). */
  auth?: NatsAuth;
  /** Per role: the client's (submitter), the coordinator's, the agents', status (observer), setup (admin). */
  roles?: Partial<Record<Role, NatsAuth>>;
  /**
   * A `docswarm auth init` directory: each role connects with its own .creds (and the CA), and an
   * embedded server runs with the directory's accounts and TLS.
   */
  authDir?: string;
  /** Agents started by initialize(); 0 for none. */
  agents?: number;
  stages?: string[];
  slots?: number;
  topology?: TopologyOptions;
  processing?: Partial<ProcessingConfig>;
  /** Run a coordinator in this process (default true). */
  coordinator?: boolean;
  /** Autoscale: the coordinator decides, this process's agent host follows within min/max. */
  autoscale?: AutoscalerOptions & { hostMin?: number; hostMax?: number };
  onLog?: AgentHostOptions["onLog"];
};

export type SwarmTimings = {
  /** The embedded server (0 with a NATS_URL), streams and buckets, the coordinator, the agents. */
  startup: { serverMs: number; topologyMs: number; coordinatorMs: number; agentsMs: number };
  /** Agents draining, the coordinator, the connections, the embedded server; filled as shutdown() runs. */
  shutdown: { agentsMs: number; coordinatorMs: number; connectionsMs: number; serverMs: number };
};

/** Runs `fn`, recording its milliseconds under `key` (added to what is there with `add`). */
async function timed<K extends string, T>(
  into: Record<K, number>,
  key: K,
  fn: () => Promise<T> | T,
  add = false,
): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    into[key] = (add ? into[key] : 0) + Math.round(performance.now() - started);
  }
}

export class Swarm {
  readonly url: string;
  readonly client: DocswarmClient;
  readonly #server: EmbeddedNatsServer | undefined;
  readonly #nc: NatsConnection;
  readonly #coordinator: Coordinator | undefined;
  #host: AgentHost | undefined;
  readonly #options: SwarmOptions;
  #closing: Promise<void> | undefined;
  readonly #closed = Promise.withResolvers<void>();
  /** How long starting and stopping took, part by part (`docswarm process` reports them). */
  readonly timings: SwarmTimings = {
    startup: { serverMs: 0, topologyMs: 0, coordinatorMs: 0, agentsMs: 0 },
    shutdown: { agentsMs: 0, coordinatorMs: 0, connectionsMs: 0, serverMs: 0 },
  };

  private constructor(init: {
    url: string;
    server: EmbeddedNatsServer | undefined;
    nc: NatsConnection;
    coordinator: Coordinator | undefined;
    host: AgentHost | undefined;
    options: SwarmOptions;
  }) {
    this.url = init.url;
    this.#server = init.server;
    this.#nc = init.nc;
    this.client = new DocswarmClient(init.nc);
    this.#coordinator = init.coordinator;
    this.#host = init.host;
    this.#options = init.options;
  }

  static async initialize(given: SwarmOptions = {}): Promise<Swarm> {
    let options = given;
    const authFor = Swarm.#authFor(options);
    const embedded = options.authDir
      ? {
          ...options.embedded,
          extraConfig: `${embeddedAuthConfig(options.authDir)}\n${options.embedded?.extraConfig ?? ""}`,
        }
      : options.embedded;
    const startup: SwarmTimings["startup"] = { serverMs: 0, topologyMs: 0, coordinatorMs: 0, agentsMs: 0 };
    const server = options.natsUrl
      ? undefined
      : await timed(startup, "serverMs", () => EmbeddedNatsServer.start(embedded));
    const url = options.natsUrl ?? server!.url;
    const cleanup: Array<() => Promise<void>> = [];
    try {
      if (server) cleanup.push(() => server.close());
      const topologyStarted = performance.now();
      const setup = await connectNats({
        ...authFor("admin"),
        servers: url.split(","),
        name: "docswarm-setup",
      });
      // Our own embedded server: we are its operator. A shared one belongs to its operator: check
      // it, create only what is missing, and use the settings in force there.
      const report = await (server
        ? ensureTopology(setup, options.topology)
        : checkTopology(setup, options.topology ?? {}, { create: true, log: options.onLog ?? (() => {}) })
      ).finally(() => drainConnection(setup));
      options = { ...options, topology: report.config };
      startup.topologyMs = Math.round(performance.now() - topologyStarted);
      const nc = await connectNats({
        ...authFor("submitter"),
        servers: url.split(","),
        name: "docswarm-swarm",
      });
      cleanup.push(() => drainConnection(nc));
      const coordinator =
        options.coordinator === false
          ? undefined
          : await timed(startup, "coordinatorMs", () =>
              Coordinator.start({
                servers: url.split(","),
                auth: authFor("coordinator"),
                topology: report.config,
                ...(options.onLog && { onLog: options.onLog }),
                ...(options.autoscale && { autoscale: options.autoscale }),
              }),
            );
      if (coordinator) cleanup.push(() => coordinator.close());
      const host =
        (options.agents ?? 1) > 0
          ? await timed(startup, "agentsMs", () =>
              AgentHost.start(Swarm.#hostOptions(url, options, options.agents ?? 1)),
            )
          : undefined;
      const swarm = new Swarm({ url, server, nc, coordinator, host, options });
      swarm.timings.startup = startup;
      return swarm;
    } catch (err) {
      for (const fn of cleanup.reverse()) await fn().catch(() => {});
      throw err;
    }
  }

  /** Each role's credentials: its .creds in authDir, else roles[role], else auth. */
  static #authFor(o: SwarmOptions): (role: Role) => NatsAuth {
    return (role) => ({
      ...o.auth,
      ...(o.authDir && authFromDir(o.authDir, role)),
      ...o.roles?.[role],
    });
  }

  static #hostOptions(url: string, o: SwarmOptions, agents: number): AgentHostOptions {
    return {
      servers: url.split(","),
      auth: Swarm.#authFor(o)("agent"),
      agents,
      ...(o.stages && { stages: o.stages }),
      ...(o.slots && { slots: o.slots }),
      ...(o.topology && { topology: o.topology }),
      ...(o.processing && { processing: o.processing }),
      ...(o.onLog && { onLog: o.onLog }),
      ...(o.autoscale && {
        autoscale: {
          min: o.autoscale.hostMin ?? o.autoscale.min ?? 1,
          max: o.autoscale.hostMax ?? o.autoscale.max ?? 16,
          ...(o.autoscale.intervalMs && { intervalMs: o.autoscale.intervalMs }),
        },
      }),
    };
  }

  /** Adds agents to this process's host (starting the host if there is none yet). */
  async spawnAgent(n = 1): Promise<string[]> {
    if (!this.#host) {
      this.#host = await AgentHost.start(Swarm.#hostOptions(this.url, this.#options, n));
      return this.#host.agentIds();
    }
    return this.#host.spawn(n);
  }

  get agentCount(): number {
    return this.#host?.size ?? 0;
  }

  submit(input: Uint8Array | string, options?: SubmitOptions): Promise<Submitted> {
    return this.client.submit(input, options);
  }

  /** The seed's name for submit. */
  submitTask(input: Uint8Array | string, options?: SubmitOptions): Promise<Submitted> {
    return this.submit(input, options);
  }

  result(docId: string, options?: { timeoutMs?: number }): Promise<FinalResult> {
    return this.client.result(docId, options);
  }

  /** The swarm as NATS shows it, with the leading coordinator's own report (null if none answers). */
  async status(): Promise<SwarmStatus & { leader: CoordinatorStatus | null }> {
    const nc = await this.#observer();
    const [status, leader] = await Promise.all([
      readStatus(await jetstreamManager(nc)),
      readCoordinatorStatus(nc),
    ]);
    return { ...status, leader };
  }

  // Status reads what a submitter may not: with per-role credentials, the observer's connection.
  #observerNc: Promise<NatsConnection> | undefined;
  #observer(): Promise<NatsConnection> {
    const o = this.#options;
    if (!o.authDir && !o.roles?.observer) return Promise.resolve(this.#nc);
    this.#observerNc ??= connectNats({
      ...Swarm.#authFor(o)("observer"),
      servers: this.url.split(","),
      name: "docswarm-status",
    });
    return this.#observerNc;
  }

  /** The seed's name for status. */
  getStatus(): Promise<SwarmStatus & { leader: CoordinatorStatus | null }> {
    return this.status();
  }

  /** Agents finish what they run, then the coordinator, the connection and the server stop. */
  shutdown(): Promise<void> {
    const t = this.timings.shutdown;
    this.#closing ??= closeSteps(
      // With our own embedded server there is no one to hand pulled-but-unstarted tasks back to.
      () =>
        timed(t, "agentsMs", () =>
          this.#host?.close({ abandonPulls: this.#server !== undefined }).catch(() => {}),
        ),
      () => timed(t, "coordinatorMs", () => this.#coordinator?.close().catch(() => {})),
      () => timed(t, "connectionsMs", () => this.client.close()),
      async () => {
        if (this.#observerNc) await drainConnection(await this.#observerNc).catch(() => {});
      },
      () => timed(t, "connectionsMs", () => drainConnection(this.#nc), true),
      () => timed(t, "serverMs", async () => this.#server?.close()),
    ).finally(() => this.#closed.resolve());
    return this.#closing;
  }

  /** Resolves once shutdown() has run, whatever its outcome. */
  closed(): Promise<void> {
    return this.#closed.promise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}
