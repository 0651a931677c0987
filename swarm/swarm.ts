// Swarm: everything on one machine for embedding: NATS (embedded unless a URL is given), the
// topology, a coordinator, an agent host and a client. The seed's SwarmCoordinator.
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { AgentHost, type AgentHostOptions } from "../agents/index.ts";
import { DocswarmClient, type SubmitOptions, type Submitted } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { EmbeddedNatsServer, type EmbeddedServerOptions } from "../infra/index.ts";
import type {
  AutoscalerOptions,
  CoordinatorStatus,
  FinalResult,
  ProcessingConfig,
  TopologyOptions,
} from "../schemas/index.ts";
import { checkTopology, connectNats, drainConnection, ensureTopology } from "../streams/index.ts";
import { readCoordinatorStatus, readStatus, type SwarmStatus } from "./status.ts";

export type SwarmOptions = {
  /** A NATS server or cluster; when absent an embedded server is started (and stopped on shutdown). */
  natsUrl?: string;
  embedded?: EmbeddedServerOptions;
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

export class Swarm {
  readonly url: string;
  readonly client: DocswarmClient;
  readonly #server: EmbeddedNatsServer | undefined;
  readonly #nc: NatsConnection;
  readonly #coordinator: Coordinator | undefined;
  #host: AgentHost | undefined;
  readonly #options: SwarmOptions;
  #closing: Promise<void> | undefined;

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
    const server = options.natsUrl ? undefined : await EmbeddedNatsServer.start(options.embedded);
    const url = options.natsUrl ?? server!.url;
    const cleanup: Array<() => Promise<void>> = [];
    try {
      if (server) cleanup.push(() => server.close());
      const nc = await connectNats({ servers: url, name: "docswarm-swarm" });
      cleanup.push(() => drainConnection(nc));
      // Our own embedded server: we are its operator. A shared one belongs to its operator: check
      // it, create only what is missing, and use the settings in force there.
      const report = server
        ? await ensureTopology(nc, options.topology)
        : await checkTopology(nc, options.topology ?? {}, { create: true, log: options.onLog ?? (() => {}) });
      options = { ...options, topology: report.config };
      const coordinator =
        options.coordinator === false
          ? undefined
          : await Coordinator.start({
              servers: url,
              ...(options.onLog && { onLog: options.onLog }),
              ...(options.autoscale && { autoscale: options.autoscale }),
            });
      if (coordinator) cleanup.push(() => coordinator.close());
      const host =
        (options.agents ?? 1) > 0
          ? await AgentHost.start(Swarm.#hostOptions(url, options, options.agents ?? 1))
          : undefined;
      return new Swarm({ url, server, nc, coordinator, host, options });
    } catch (err) {
      for (const fn of cleanup.reverse()) await fn().catch(() => {});
      throw err;
    }
  }

  static #hostOptions(url: string, o: SwarmOptions, agents: number): AgentHostOptions {
    return {
      servers: url,
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
    const [status, leader] = await Promise.all([
      readStatus(await jetstreamManager(this.#nc)),
      readCoordinatorStatus(this.#nc),
    ]);
    return { ...status, leader };
  }

  /** The seed's name for status. */
  getStatus(): Promise<SwarmStatus & { leader: CoordinatorStatus | null }> {
    return this.status();
  }

  /** Agents finish what they run, then the coordinator, the connection and the server stop. */
  shutdown(): Promise<void> {
    this.#closing ??= (async () => {
      // With our own embedded server there is no one to hand pulled-but-unstarted tasks back to.
      await this.#host?.close({ abandonPulls: this.#server !== undefined }).catch(() => {});
      await this.#coordinator?.close().catch(() => {});
      await this.client.close();
      await drainConnection(this.#nc);
      await this.#server?.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}
