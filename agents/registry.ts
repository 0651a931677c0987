// A host's agents in the agents bucket: each agent's registration (what it serves, its status, its
// counts and heap) renewed every heartbeat with a TTL of three, so a host that dies drops out by
// itself; removed at once when an agent drains.
import { hostname } from "node:os";
import type { JetStreamClient } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import type { AgentRegistration } from "../schemas/index.ts";
import { BUCKETS, kvPutWithTtl, kvSubject } from "../streams/index.ts";
import type { AgentSlot } from "./agent-slot.ts";

export type HostRegistryOptions = {
  hostId: string;
  /** The stages the host was asked to serve (until an agent reports its own). */
  stages: string[];
  /** Tasks one agent runs at once. */
  slots: number;
  heartbeatMs: number;
};

export class HostRegistry {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #options: HostRegistryOptions;
  readonly #agents: () => Iterable<AgentSlot>;
  readonly #timer: NodeJS.Timeout;

  constructor(
    nc: NatsConnection,
    js: JetStreamClient,
    agents: () => Iterable<AgentSlot>,
    options: HostRegistryOptions,
  ) {
    this.#nc = nc;
    this.#js = js;
    this.#agents = agents;
    this.#options = options;
    this.#timer = setInterval(() => void this.publishAll(), options.heartbeatMs);
  }

  registration(slot: AgentSlot): AgentRegistration {
    return {
      v: 1,
      agentId: slot.id,
      hostId: this.#options.hostId,
      hostname: hostname(),
      pid: process.pid,
      stages: slot.stages ?? this.#options.stages.filter((s) => !/[/\\.]/.test(s)),
      status: slot.status,
      concurrency: this.#options.slots,
      currentTasks: [...slot.held.values()].filter((h) => h.runAt !== undefined).map((h) => h.taskId),
      tasksDone: slot.tasksDone,
      tasksFailed: slot.tasksFailed,
      restarts: slot.restarts,
      startedAt: slot.startedAt,
      heartbeatAt: Date.now(),
      hostRssBytes: process.memoryUsage.rss(),
      ...(slot.heapUsedBytes !== undefined && { heapUsedBytes: slot.heapUsedBytes }),
    };
  }

  publish(slot: AgentSlot): Promise<number> {
    const ttlMs = Math.max(3000, this.#options.heartbeatMs * 3);
    return kvPutWithTtl(this.#js, BUCKETS.agents, slot.id, this.registration(slot), ttlMs);
  }

  async publishAll(): Promise<void> {
    if (this.#nc.isClosed()) return;
    const agents = [...this.#agents()];
    // Sampled for the next heartbeat, not awaited: a thread inside a long synchronous parse
    // answers late, and its heartbeat must not wait for it.
    for (const slot of agents) {
      if (slot.status === "starting" || slot.status === "stopped") continue;
      slot.worker
        ?.getHeapStatistics()
        .then((h) => {
          slot.heapUsedBytes = h.used_heap_size;
        })
        .catch(() => {});
    }
    await Promise.all(agents.map((s) => this.publish(s).catch(() => 0)));
  }

  /** Removes an agent's registration (a KV delete: a message with KV-Operation: DEL on its key). */
  async remove(agentId: string): Promise<void> {
    const h = headers();
    h.set("KV-Operation", "DEL");
    await this.#js
      .publish(kvSubject(BUCKETS.agents, agentId), new Uint8Array(), { headers: h })
      .catch(() => {});
  }

  /** Stops the heartbeat (registrations then expire by their TTL unless removed). */
  close(): void {
    clearInterval(this.#timer);
  }
}
