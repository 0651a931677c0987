// What a stage handler can use: the agent's connection, the swarm's state, its PDF engine and caches.
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { JobStore } from "../jobs/index.ts";
import type { Priority, ProcessingConfig, TopologyConfig } from "../schemas/index.ts";
import {
  BUCKETS,
  countServing,
  type JetStreamPublisher,
  kvStream,
  kvSubject,
  listAgents,
  publisherFor,
  readObject,
  type SwarmState,
} from "../streams/index.ts";
import { DocumentCache } from "./document-cache.ts";
import type { IdleBoard } from "./idle-board.ts";
import type { PdfEngine } from "./pdf/engine.ts";
import type { SharedBytes } from "./shared-bytes.ts";

export type AgentServices = {
  agentId: string;
  /** The stages this agent serves (split ends a small document itself only when it also extracts). */
  stages: readonly string[];
  nc: NatsConnection;
  js: JetStreamClient;
  /** JetStream publishes on the hot path (results, task fan-out). */
  publisher: JetStreamPublisher;
  jsm: JetStreamManager;
  state: SwarmState;
  topology: TopologyConfig;
  processing: ProcessingConfig;
  maxPayloadBytes: number;
  engine: PdfEngine;
  documents: DocumentCache;
  /** Job records (split writes a new run's). */
  jobs: JobStore;
  /** Live agents serving a stage, from the registry (cached for a moment). */
  liveAgents(stage: string): Promise<number>;
  /**
   * How long a read of the topology's layout stands (AgentHostOptions.layoutTtlMs; 30 s when unset).
   * @internal
   */
  layoutTtlMs?: number;
  /**
   * Tasks of a priority this agent has pulled ahead and not started yet (set by the agent's
   * runtime; absent elsewhere): a long task that sees higher-priority ones here may yield to them.
   */
  heldAhead?: (priority: Priority) => number;
  /**
   * This host's extract agents and how many are idle (agents/idle-board.ts; absent outside a host):
   * a whole document hands its rest on when one stays idle.
   * @internal
   */
  idle?: IdleBoard;
  /** Structured log line, forwarded to the host's logger. */
  log(level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void;
};

export function createServices(
  init: Omit<AgentServices, "documents" | "jobs" | "liveAgents" | "publisher">,
  shared?: SharedBytes,
): AgentServices {
  let registry: { at: number; agents: Promise<Awaited<ReturnType<typeof listAgents>>> } | undefined;
  const publisher = publisherFor(init.nc);
  // Split looks every submission's job up (a small document almost never has one): a raw direct
  // get of the key's last message, as the KV client's get would send it.
  const readJob = async (docId: string) => {
    const m = await publisher.lastBySubject(kvStream(BUCKETS.jobs), kvSubject(BUCKETS.jobs, docId));
    return m && { operation: m.headers?.get("KV-Operation") || "PUT", value: m.data, revision: m.seq };
  };
  return {
    ...init,
    publisher,
    jobs: new JobStore(init.state.jobs, { maxCached: 64, read: readJob }),
    documents: new DocumentCache(
      init.engine,
      (bucket, name) => readObject(init.js, bucket, name),
      shared ? { shared } : {},
    ),
    async liveAgents(stage: string): Promise<number> {
      if (!registry || Date.now() - registry.at > 2000)
        registry = { at: Date.now(), agents: listAgents(init.jsm) };
      const agents = await registry.agents.catch(() => []);
      return countServing(agents, stage);
    },
  };
}
