// An agent host following the scale bucket: when the stages it serves want more agents than are
// alive it starts some, when every one of them wants fewer it drains some (idle ones first; a
// draining agent finishes its tasks in flight and hands back the rest, so nothing is lost or done
// twice). With several autoscaling hosts each takes its share of the difference.
import type { JetStreamManager } from "@nats-io/jetstream";
import { type AgentRegistration, decodeJson, ScaleDecision } from "../schemas/index.ts";
import { BUCKETS, listAgents, readLastPerSubject } from "../streams/index.ts";

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
  for (const m of await readLastPerSubject(jsm, `KV_${BUCKETS.scale}`, `$KV.${BUCKETS.scale}.>`)) {
    if (m.data.length === 0) continue;
    const d = decodeJson(ScaleDecision, m.data);
    if (d.ok) out.set(d.value.stage, d.value);
  }
  return out;
}

export async function readRegistry(jsm: JetStreamManager): Promise<AgentRegistration[]> {
  return listAgents(jsm);
}
