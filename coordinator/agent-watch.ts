// The leader's view of the agents: a watch on the docswarm-agents bucket. A registration carries a
// per-key TTL its host refreshes every heartbeat; when heartbeats stop, the server removes it and
// leaves a delete marker, which the watch sees as PURGE: that agent is lost. A drained agent deletes
// its registration itself (DEL): it drained. Both become events (with scale.changed when a stage's
// live agent count moves) and show in the coordinator's status.
import type { KV, KvWatchEntry } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { LogFn } from "../observability/index.ts";
import { AgentRegistration, decodeJson, type LostAgent } from "../schemas/index.ts";
import { closeSteps } from "../streams/index.ts";
import { publishEvent } from "./events.ts";

type Iter = Awaited<ReturnType<KV["watch"]>>;

const KEEP_LOST = 100;

export class AgentWatch {
  readonly #nc: NatsConnection;
  readonly #log: LogFn;
  readonly #live = new Map<string, AgentRegistration>();
  readonly #lost: LostAgent[] = [];
  readonly #iter: Iter;
  readonly #loop: Promise<void>;
  #closing: Promise<void> | undefined;

  private constructor(nc: NatsConnection, iter: Iter, log: LogFn) {
    this.#nc = nc;
    this.#iter = iter;
    this.#log = log;
    this.#loop = (async () => {
      for await (const e of iter) this.#onEntry(e);
    })().catch((err) => log("error", "agent watch stopped", { err: (err as Error).message }));
  }

  static async start(nc: NatsConnection, agents: KV, log: LogFn): Promise<AgentWatch> {
    return new AgentWatch(nc, await agents.watch({ key: ">" }), log);
  }

  #onEntry(e: KvWatchEntry): void {
    const agentId = e.key;
    if (e.operation === "PUT") {
      const r = decodeJson(AgentRegistration, e.value);
      if (!r.ok) {
        this.#log("warn", "unreadable agent registration ignored", { agentId, error: r.message });
        return;
      }
      const known = this.#live.has(agentId);
      const before = this.#counts(r.value.stages);
      this.#live.set(agentId, r.value);
      if (!known && e.isUpdate) {
        this.#emit("agent.joined", r.value, null);
        this.#scaleChanged(before, "agent.joined");
      } else if (known && e.isUpdate) {
        // A drained agent's thread can exit (a heartbeat then says "stopped") before its
        // registration is removed: it leaves the count here, and its removal changes nothing.
        this.#scaleChanged(before, r.value.status === "stopped" ? "agent.drained" : "agent.joined");
      }
      return;
    }
    // DEL: deregistered on drain. PURGE: the server's marker when the TTL lapsed (heartbeats stopped).
    const reason = e.operation === "DEL" ? "drained" : "lost";
    const last = this.#live.get(agentId);
    const before = this.#counts(last?.stages ?? []);
    this.#live.delete(agentId);
    if (!e.isUpdate && !last) {
      // Lapsed before we started watching (during a failover): status only, no second event.
      this.#remember({
        agentId,
        hostId: "",
        reason,
        lastHeartbeatAt: null,
        detectedAt: Date.now(),
        tasks: [],
      });
      return;
    }
    const lost: LostAgent = {
      agentId,
      hostId: last?.hostId ?? "",
      reason,
      lastHeartbeatAt: last?.heartbeatAt ?? null,
      detectedAt: Date.now(),
      tasks: last?.currentTasks ?? [],
    };
    this.#remember(lost);
    if (reason === "lost")
      this.#log("warn", "agent lost: its heartbeats stopped", {
        agentId,
        hostId: lost.hostId,
        tasks: lost.tasks.length,
      });
    this.#emit(reason === "lost" ? "agent.lost" : "agent.drained", last, lost.lastHeartbeatAt, agentId);
    this.#scaleChanged(before, reason === "lost" ? "agent.lost" : "agent.drained");
  }

  /** Live agents serving each of `stages`. */
  #counts(stages: string[]): Map<string, number> {
    const out = new Map<string, number>();
    for (const stage of stages) {
      let n = 0;
      for (const a of this.#live.values()) if (a.status !== "stopped" && a.stages.includes(stage)) n++;
      out.set(stage, n);
    }
    return out;
  }

  /** scale.changed for every stage whose live agent count moved. */
  #scaleChanged(before: Map<string, number>, reason: "agent.joined" | "agent.lost" | "agent.drained"): void {
    const after = this.#counts([...before.keys()]);
    for (const [stage, previous] of before) {
      const agents = after.get(stage) ?? 0;
      if (agents !== previous) {
        publishEvent(this.#nc, { type: "scale.changed", at: Date.now(), stage, previous, agents, reason });
      }
    }
  }

  #remember(lost: LostAgent): void {
    this.#lost.unshift(lost);
    this.#lost.splice(KEEP_LOST);
  }

  #emit(
    type: "agent.joined" | "agent.drained" | "agent.lost",
    r: AgentRegistration | undefined,
    lastHeartbeatAt: number | null,
    agentId = r?.agentId ?? "",
  ): void {
    publishEvent(this.#nc, {
      type,
      at: Date.now(),
      agentId,
      hostId: r?.hostId ?? "",
      stages: r?.stages ?? [],
      lastHeartbeatAt: type === "agent.joined" ? (r?.heartbeatAt ?? null) : lastHeartbeatAt,
      tasks: type === "agent.joined" ? [] : (r?.currentTasks ?? []),
    });
  }

  live(): AgentRegistration[] {
    return [...this.#live.values()];
  }

  lost(): LostAgent[] {
    return [...this.#lost];
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await closeSteps(
        () => this.#iter.stop(),
        () => this.#loop,
      );
    })();
    return this.#closing;
  }
}
