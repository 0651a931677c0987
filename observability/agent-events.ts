// Agent lifecycle events from the agents registry alone: a KV watch on docswarm-agents sees a new
// key (agent.joined), a delete (the host deregistered it after draining: agent.drained) and a
// per-key TTL expiry marker (no goodbye, its host died or lost NATS: agent.lost). Each changes the
// live count of the agent's stages, reported as scale.changed. Run by the coordinator.
import type { KV, KvWatchEntry } from "@nats-io/kv";
import type { QueuedIterator } from "@nats-io/transport-node";
import { AgentRegistration, type SwarmEvent, validate } from "../schemas/index.ts";

type Known = { hostId: string; stages: string[]; status: string };

export class AgentEventsWatcher {
  readonly #emit: (e: SwarmEvent) => void;
  readonly #known = new Map<string, Known>();
  #watch: QueuedIterator<KvWatchEntry> | undefined;
  #loop: Promise<void> | undefined;

  private constructor(emit: (e: SwarmEvent) => void) {
    this.#emit = emit;
  }

  /** Starts watching; entries present at start are known agents, not joins. */
  static async start(agents: KV, emit: (e: SwarmEvent) => void): Promise<AgentEventsWatcher> {
    const w = new AgentEventsWatcher(emit);
    const iter = await agents.watch();
    w.#watch = iter;
    w.#loop = (async () => {
      for await (const e of iter) w.#onEntry(e);
    })().catch(() => {});
    return w;
  }

  #live(stage: string): number {
    let n = 0;
    for (const a of this.#known.values()) if (a.status !== "stopped" && a.stages.includes(stage)) n++;
    return n;
  }

  #onEntry(e: KvWatchEntry): void {
    const at = Date.now();
    const prior = this.#known.get(e.key);
    if (e.operation === "PUT") {
      const r = validate(AgentRegistration, safeJson(e));
      if (!r.ok) return;
      const a = r.value;
      const before = new Map(a.stages.map((s) => [s, this.#live(s)]));
      this.#known.set(e.key, { hostId: a.hostId, stages: a.stages, status: a.status });
      if (!prior && e.isUpdate) {
        this.#emit({ type: "agent.joined", at, agentId: a.agentId, hostId: a.hostId, stages: a.stages });
        this.#scaleChanged(before, "agent.joined", at);
      }
      return;
    }
    if (!prior) return;
    const before = new Map(prior.stages.map((s) => [s, this.#live(s)]));
    this.#known.delete(e.key);
    if (!e.isUpdate) return;
    const type = e.operation === "DEL" ? "agent.drained" : "agent.lost";
    this.#emit({ type, at, agentId: e.key, hostId: prior.hostId, stages: prior.stages });
    this.#scaleChanged(before, type, at);
  }

  #scaleChanged(
    before: Map<string, number>,
    reason: "agent.joined" | "agent.lost" | "agent.drained",
    at: number,
  ) {
    for (const [stage, previous] of before) {
      const agents = this.#live(stage);
      if (agents !== previous) this.#emit({ type: "scale.changed", at, stage, previous, agents, reason });
    }
  }

  async close(): Promise<void> {
    this.#watch?.stop();
    await this.#loop;
  }
}

function safeJson(e: KvWatchEntry): unknown {
  try {
    return e.json();
  } catch {
    return undefined;
  }
}
