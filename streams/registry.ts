// The agents registry: who is alive, serving which stages. Entries carry a per-key TTL, so a dead
// host's agents disappear by themselves (with a delete marker watchers see).
import type { JetStreamManager } from "@nats-io/jetstream";
import { AgentRegistration, validate } from "../schemas/index.ts";
import { BUCKETS, kvStream, kvSubject } from "./names.ts";
import { readLastPerSubject } from "./read.ts";

export async function listAgents(jsm: JetStreamManager): Promise<AgentRegistration[]> {
  const msgs = await readLastPerSubject(jsm, kvStream(BUCKETS.agents), kvSubject(BUCKETS.agents, ">"));
  const out: AgentRegistration[] = [];
  for (const m of msgs) {
    const op = m.header?.get("KV-Operation");
    if (op === "DEL" || op === "PURGE" || m.data.length === 0) continue;
    let parsed: unknown;
    try {
      parsed = m.json();
    } catch {
      continue;
    }
    const r = validate(AgentRegistration, parsed);
    if (r.ok) out.push(r.value);
  }
  return out;
}

/** Live agents (status other than stopped) that serve `stage`. */
export function countServing(agents: AgentRegistration[], stage: string): number {
  return agents.filter((a) => a.status !== "stopped" && a.stages.includes(stage)).length;
}
