// The autoscaler: every interval, per stage, reads the backlog (waiting plus in flight, from the
// consumers' own state) and the live agents with their busy share (from the registry), decides how
// many agents the stage should have within its min/max, and writes that to the scale bucket.
// Scale-up waits out a short cooldown after the last change; scale-down happens only after the
// stage wanted fewer agents for a longer one, so a burst's tail does not make it flap.
import type { JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  type AgentRegistration,
  AutoscalerConfig,
  type AutoscalerOptions,
  type ScaleDecision,
} from "../schemas/index.ts";
import { BUILTIN_STAGES, jsonBytes, listAgents, publishEvent, taskSources } from "../streams/index.ts";

type StageMemory = { desired: number; changedAt: number; lowSince: number | undefined };

/** Pure decision for one stage; exported for tests. */
export function decide(
  cfg: AutoscalerConfig,
  stage: string,
  backlog: number,
  agents: AgentRegistration[],
  memory: StageMemory | undefined,
  now: number,
): { desired: number; reason: string; utilisation: number; lowSince: number | undefined } {
  const limits = cfg.stages[stage] ?? { min: cfg.min, max: cfg.max };
  const serving = agents.filter(
    (a) => a.status !== "stopped" && a.status !== "draining" && a.stages.includes(stage),
  );
  const busy = serving.filter((a) => a.status === "busy").length;
  const utilisation = serving.length ? busy / serving.length : 0;
  const wanted = Math.min(limits.max, Math.max(limits.min, Math.ceil(backlog / cfg.tasksPerAgent)));
  const current = memory?.desired ?? Math.min(limits.max, Math.max(limits.min, serving.length));
  if (wanted > current) {
    if (memory && now - memory.changedAt < cfg.upCooldownMs)
      return { desired: current, reason: "up: cooling down", utilisation, lowSince: undefined };
    return {
      desired: wanted,
      reason: `up: ${backlog} tasks for ${serving.length} agents`,
      utilisation,
      lowSince: undefined,
    };
  }
  if (wanted < current) {
    const lowSince = memory?.lowSince ?? now;
    if (now - lowSince < cfg.downCooldownMs || utilisation > 0.75) {
      return { desired: current, reason: "down: waiting for the cooldown", utilisation, lowSince };
    }
    return {
      desired: wanted,
      reason: `down: ${backlog} tasks, ${Math.round(utilisation * 100)}% busy`,
      utilisation,
      lowSince: undefined,
    };
  }
  return { desired: current, reason: "steady", utilisation, lowSince: undefined };
}

export class Autoscaler {
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #kv: KV;
  readonly #cfg: AutoscalerConfig;
  readonly #memory = new Map<string, StageMemory>();
  readonly #timer: NodeJS.Timeout;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(nc: NatsConnection, jsm: JetStreamManager, scale: KV, options: AutoscalerOptions = {}) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#kv = scale;
    this.#cfg = AutoscalerConfig.parse(options);
    this.#timer = setInterval(() => {
      this.#running ??= this.tick()
        .then(
          () => {},
          () => {},
        )
        .finally(() => {
          this.#running = undefined;
        });
    }, this.#cfg.intervalMs);
  }

  /** One round of decisions (the timer calls it; tests may too). */
  async tick(): Promise<ScaleDecision[]> {
    if (this.#closed) return [];
    const agents = await listAgents(this.#jsm);
    const stages = new Set<string>([
      ...BUILTIN_STAGES,
      ...Object.keys(this.#cfg.stages),
      ...agents.flatMap((a) => a.stages),
    ]);
    const out: ScaleDecision[] = [];
    for (const stage of stages) {
      const infos = await Promise.all(
        taskSources(stage).map((s) => this.#jsm.consumers.info(s.stream, s.consumer).catch(() => undefined)),
      );
      const backlog = infos.reduce((n, i) => n + (i ? i.num_pending + i.num_ack_pending : 0), 0);
      const now = Date.now();
      const memory = this.#memory.get(stage);
      const d = decide(this.#cfg, stage, backlog, agents, memory, now);
      const limits = this.#cfg.stages[stage] ?? { min: this.#cfg.min, max: this.#cfg.max };
      const previous = memory?.desired;
      this.#memory.set(stage, {
        desired: d.desired,
        changedAt: previous === d.desired ? (memory?.changedAt ?? now) : now,
        lowSince: d.lowSince,
      });
      const decision: ScaleDecision = {
        v: 1,
        stage,
        desired: d.desired,
        min: limits.min,
        max: limits.max,
        backlog,
        agents: agents.filter((a) => a.stages.includes(stage) && a.status !== "stopped").length,
        utilisation: d.utilisation,
        reason: d.reason,
        decidedAt: now,
      };
      out.push(decision);
      await this.#kv.put(stage, jsonBytes(decision));
      if (previous !== undefined && previous !== d.desired) {
        publishEvent(this.#nc, {
          type: "scale.decided",
          at: now,
          stage,
          from: previous,
          to: d.desired,
          reason: d.reason,
        });
      }
    }
    return out;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
  }
}
