// What the partition drill sees, from the root namespace (never cut). Core subscriptions are at most
// once, and a subscriber on a node that is cut off misses what is published elsewhere, so there is
// one observer connection pinned to each node (no failover, no cluster discovery): the union sees
// every message, and copies from several nodes are counted once.
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  AgentRegistration,
  decodeJson,
  HEADERS,
  LeaderLease,
  SwarmEvent,
  TaskResult,
} from "../../schemas/index.ts";
import { BUCKETS, LEADER_KEY, subjects } from "../../streams/index.ts";
import type { NatsNode } from "./cluster.ts";

export type Run = {
  taskId: string;
  agentId: string;
  startedAt: number;
  /** When the drill saw it (a late result arrives long after it started). */
  seenAt: number;
  delivery: number;
};

export type Election = { at: number; coordinatorId: string; term: number };

const text = new TextDecoder();

/** What a task result and a final's summary header both say about the run that produced them. */
type RunSeen = { agentId: string; startedAt: number; delivery: number };

export class Observers {
  readonly byNode: ReadonlyMap<string, NatsConnection>;
  /** Task runs by task key (`submit.<docId>` for a split), from the result subjects. */
  readonly runs = new Map<string, Run[]>();
  /** Stored final results republished per document, by done-stream sequence. */
  readonly finals = new Map<string, Set<string>>();
  readonly elections: Election[] = [];
  readonly finishedEvents = new Map<string, number>();
  readonly #seen = new Set<string>();

  private constructor(byNode: Map<string, NatsConnection>) {
    this.byNode = byNode;
    for (const nc of byNode.values()) this.#subscribe(nc);
  }

  static async open(nodes: NatsNode[]): Promise<Observers> {
    const byNode = new Map<string, NatsConnection>();
    for (const n of nodes)
      byNode.set(
        n.name,
        await connect({
          servers: n.url,
          name: `partition-observer-${n.name}`,
          ignoreClusterUpdates: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          pingInterval: 5000,
        }),
      );
    return new Observers(byNode);
  }

  /** A JetStream manager on a node's own connection (to ask the majority side during a split). */
  manager(node: string): Promise<JetStreamManager> {
    return jetstreamManager(this.byNode.get(node)!, { timeout: 2000 });
  }

  #once(key: string): boolean {
    if (this.#seen.has(key)) return false;
    this.#seen.add(key);
    return true;
  }

  #recordRun(key: string, v: RunSeen): void {
    const list = this.runs.get(key) ?? [];
    list.push({
      taskId: key,
      agentId: v.agentId,
      startedAt: v.startedAt,
      seenAt: Date.now(),
      delivery: v.delivery,
    });
    this.runs.set(key, list);
  }

  #subscribe(nc: NatsConnection): void {
    nc.subscribe(subjects.resultsAll, {
      callback: (_e, m) => {
        const raw = text.decode(m.data);
        if (!this.#once(`r${raw}`)) return;
        const r = decodeJson(TaskResult, m.data);
        if (!r.ok) return;
        const v = r.value;
        this.#recordRun(v.stage === "split" ? `submit.${v.docId}` : v.taskId, v);
      },
    });
    nc.subscribe(subjects.doneAll, {
      callback: (_e, m) => {
        const docId = m.subject.slice(subjects.done("").length);
        const seq = m.headers?.get("Nats-Sequence") ?? text.decode(m.data);
        const set = this.finals.get(docId) ?? new Set<string>();
        set.add(seq);
        this.finals.set(docId, set);
        // A one-chunk document's split publishes no result (layout 4): its final's summary says the run.
        const summary = m.headers?.get(HEADERS.summary);
        if (summary && this.#once(`s${docId}.${seq}`)) {
          this.#recordRun(`submit.${docId}`, JSON.parse(summary) as RunSeen);
        }
      },
    });
    nc.subscribe(subjects.eventsAll, {
      callback: (_e, m) => {
        if (!this.#once(`e${text.decode(m.data)}`)) return;
        const e = decodeJson(SwarmEvent, m.data);
        if (!e.ok) return;
        const v = e.value;
        if (v.type === "coordinator.elected")
          this.elections.push({ at: v.at, coordinatorId: v.coordinatorId, term: v.term });
        if (v.type === "doc.done" || v.type === "doc.failed")
          this.finishedEvents.set(v.docId, (this.finishedEvents.get(v.docId) ?? 0) + 1);
      },
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.byNode.values()].map((nc) => nc.close().catch(() => {})));
  }
}

/** A stream or consumer: its raft group's leader and whether every replica is current. */
export type Asset = {
  /** `<stream>` or `<stream>/<consumer>`. */
  name: string;
  replicas: number;
  leader: string | undefined;
  current: boolean;
};

export type SwarmState = {
  at: number;
  assets: Asset[];
  lease: LeaderLease | undefined;
  /** agent id -> host pid, for live registrations. */
  agents: Map<string, number>;
};

/** One look at the cluster and the swarm, through one connection; throws when it cannot see it all. */
export async function readState(nc: NatsConnection, replicas: number): Promise<SwarmState> {
  const jsm = await jetstreamManager(nc, { timeout: 2000 });
  const assets: Asset[] = [];
  // A group is current when each of its peers (as many as it has replicas) is.
  const groupOf = (
    c: { leader?: string; replicas?: Array<{ current: boolean }> } | undefined,
    size: number,
  ) => ({
    replicas: size,
    leader: c?.leader,
    current: (c?.replicas?.length ?? 0) === size - 1 && (c?.replicas ?? []).every((r) => r.current),
  });
  for await (const s of jsm.streams.list()) {
    const size = s.config.num_replicas || replicas;
    assets.push({ name: s.config.name, ...groupOf(s.cluster, size) });
    for await (const c of jsm.consumers.list(s.config.name))
      assets.push({
        name: `${s.config.name}/${c.name}`,
        ...groupOf(c.cluster, c.config.num_replicas || size),
      });
  }
  const kvm = new Kvm(nc);
  const leases = await kvm.open(BUCKETS.leases);
  const e = await leases.get(LEADER_KEY);
  const decoded = e?.operation === "PUT" ? decodeJson(LeaderLease, e.value) : undefined;
  const agents = new Map<string, number>();
  const registry = await kvm.open(BUCKETS.agents);
  for await (const key of await registry.keys()) {
    const r = await registry.get(key);
    const a = r?.operation === "PUT" ? decodeJson(AgentRegistration, r.value) : undefined;
    if (a?.ok) agents.set(a.value.agentId, a.value.pid);
  }
  return { at: Date.now(), assets, lease: decoded?.ok ? decoded.value : undefined, agents };
}

/** Who leads one stream or consumer now, asked through `nc` (undefined when nobody answers). */
export async function leaderOf(nc: NatsConnection, asset: string): Promise<string | undefined> {
  const jsm = await jetstreamManager(nc, { timeout: 1000 });
  const [stream, consumer] = asset.split("/") as [string, string | undefined];
  const info = consumer ? await jsm.consumers.info(stream, consumer) : await jsm.streams.info(stream);
  return info.cluster?.leader;
}

/**
 * Whole again: every raft group has a leader and all replicas current, a coordinator holds a lease
 * it renewed in the last two seconds, and every agent expected is registered.
 */
export function isWhole(s: SwarmState, expectedAgents: number): boolean {
  return notWhole(s, expectedAgents) === undefined;
}

/** Why the swarm is not whole, or undefined when it is. */
export function notWhole(s: SwarmState, expectedAgents: number): string | undefined {
  if (s.assets.length === 0) return "no streams";
  const behind = s.assets.filter((a) => a.leader === undefined || !a.current).map((a) => a.name);
  if (behind.length > 0) return `raft groups without a leader or with replicas behind: ${behind.join(", ")}`;
  if (!s.lease) return "no leader lease";
  if (s.at - s.lease.renewedAt >= 2000) return `leader lease not renewed for ${s.at - s.lease.renewedAt} ms`;
  if (s.agents.size < expectedAgents) return `${s.agents.size} of ${expectedAgents} agents registered`;
  return undefined;
}
