// An agent host following the scale bucket: when the stages it serves want more agents than are
// alive it starts some, when every one of them wants fewer it drains some (idle ones first; a
// draining agent finishes its tasks in flight and hands back the rest, so nothing is lost or done
// twice). With several autoscaling hosts each takes its share of the difference.
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { LogFn } from "../observability/index.ts";
import { type AgentRegistration, decodeJson, ScaleDecision } from "../schemas/index.ts";
import {
  BUCKETS,
  kvStream,
  kvSubject,
  listAgents,
  publishEvent,
  readLastPerSubject,
} from "../streams/index.ts";
import type { AgentSlot } from "./agent-slot.ts";

export type AutoscaleOptions = { min?: number; max?: number; intervalMs?: number };

export type ScaleStep = { spawn: number; drain: number; reason: string };

/** Pure: how many agents this host should add or drain, given the decisions and the registry. */
export function planStep(
  hostId: string,
  stages: string[],
  size: number,
  decisions: Map<string, ScaleDecision>,
  agents: AgentRegistration[],
  limits: { min: number; max: number },
): ScaleStep {
  let spawn = 0;
  let drain = Number.POSITIVE_INFINITY;
  const reasons: string[] = [];
  for (const stage of stages) {
    const d = decisions.get(stage);
    if (!d) {
      drain = 0;
      continue;
    }
    const live = agents.filter(
      (a) => a.stages.includes(stage) && a.status !== "stopped" && a.status !== "draining",
    );
    const hosts = Math.max(1, new Set([...live.map((a) => a.hostId), hostId]).size);
    const diff = d.desired - live.length;
    if (diff > 0) {
      spawn = Math.max(spawn, Math.ceil(diff / hosts));
      reasons.push(`${stage} wants ${d.desired}, has ${live.length}`);
    }
    drain = Math.min(drain, diff < 0 ? Math.ceil(-diff / hosts) : 0);
  }
  if (spawn > 0)
    return { spawn: Math.max(0, Math.min(spawn, limits.max - size)), drain: 0, reason: reasons.join("; ") };
  const n = Number.isFinite(drain) ? Math.max(0, Math.min(drain, size - limits.min)) : 0;
  return { spawn: 0, drain: n, reason: n > 0 ? `every stage served wants fewer agents` : "steady" };
}

export async function readDecisions(jsm: JetStreamManager): Promise<Map<string, ScaleDecision>> {
  const out = new Map<string, ScaleDecision>();
  for (const m of await readLastPerSubject(jsm, kvStream(BUCKETS.scale), kvSubject(BUCKETS.scale, ">"))) {
    if (m.data.length === 0) continue;
    const d = decodeJson(ScaleDecision, m.data);
    if (d.ok) out.set(d.value.stage, d.value);
  }
  return out;
}

export async function readRegistry(jsm: JetStreamManager): Promise<AgentRegistration[]> {
  return listAgents(jsm);
}

/** What the scale follower needs of its host. */
export type ScaledHost = {
  readonly hostId: string;
  /** The agents that are not stopping. */
  liveAgents(): AgentSlot[];
  spawn(n: number): Promise<string[]>;
  drain(agentId: string): Promise<void>;
};

/**
 * Follows the scale bucket every `intervalMs`: one step at a time, then holds still while the
 * registry catches up with what it changed. Announces agent.spawned / agent.terminated.
 */
export class ScaleFollower {
  readonly #host: ScaledHost;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #log: LogFn;
  readonly #limits: { min: number; max: number };
  readonly #intervalMs: number;
  readonly #heartbeatMs: number;
  readonly #timer: NodeJS.Timeout;
  #step: Promise<void> | undefined;
  #quietUntil = 0;
  #closed = false;

  constructor(
    host: ScaledHost,
    nc: NatsConnection,
    js: JetStreamClient,
    options: AutoscaleOptions & { heartbeatMs: number; log: LogFn },
  ) {
    this.#host = host;
    this.#nc = nc;
    this.#js = js;
    this.#log = options.log;
    this.#limits = { min: options.min ?? 1, max: options.max ?? 16 };
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#heartbeatMs = options.heartbeatMs;
    this.#timer = setInterval(() => {
      this.#step ??= this.#follow()
        .catch((err) => this.#log("warn", "autoscale step failed", { err: (err as Error).message }))
        .finally(() => {
          this.#step = undefined;
        });
    }, this.#intervalMs);
  }

  async #follow(): Promise<void> {
    if (this.#closed || Date.now() < this.#quietUntil) return;
    const jsm = await this.#js.jetstreamManager();
    const [decisions, agents] = await Promise.all([readDecisions(jsm), readRegistry(jsm)]);
    const mine = this.#host.liveAgents();
    const stages = [...new Set(mine.flatMap((a) => a.stages ?? []))];
    if (stages.length === 0) return;
    const step = planStep(this.#host.hostId, stages, mine.length, decisions, agents, this.#limits);
    if (step.spawn === 0 && step.drain === 0) return;
    // The registry needs a heartbeat or two to reflect what we change: hold still meanwhile.
    this.#quietUntil = Date.now() + Math.max(2 * this.#intervalMs, 2 * this.#heartbeatMs);
    if (step.spawn > 0) {
      const spawned = await this.#host.spawn(step.spawn);
      const byId = new Map(this.#host.liveAgents().map((a) => [a.id, a]));
      for (const id of spawned) this.#event("agent.spawned", id, step.reason, byId.get(id)?.stages ?? []);
      return;
    }
    const victims = mine
      .sort((a, b) => Number(a.status === "busy") - Number(b.status === "busy") || b.startedAt - a.startedAt)
      .slice(0, step.drain);
    await Promise.all(
      victims.map(async (v) => {
        const stagesOf = v.stages ?? [];
        await this.#host.drain(v.id);
        this.#event("agent.terminated", v.id, step.reason, stagesOf);
      }),
    );
  }

  #event(
    type: "agent.spawned" | "agent.terminated",
    agentId: string,
    reason: string,
    stages: string[],
  ): void {
    publishEvent(this.#nc, { type, at: Date.now(), agentId, hostId: this.#host.hostId, stages, reason });
  }

  /** Stops following; resolves once a step under way has finished. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#step;
  }
}
