// A snapshot of the swarm read from NATS: consumers per stage and priority, agents, jobs.
import type { JetStreamManager } from "@nats-io/jetstream";
import type { AgentRegistration, Priority } from "../schemas/index.ts";
import { BUILTIN_STAGES, countServing, listAgents, STREAMS, taskSources } from "../streams/index.ts";

export type StageStatus = {
  stage: string;
  priority: Priority;
  /** Waiting in the stream, not yet delivered. */
  backlog: number;
  /** Delivered to an agent, not yet acked. */
  inFlight: number;
  redelivered: number;
  maxAckPending: number;
};

export type SwarmStatus = {
  at: number;
  stages: StageStatus[];
  agents: AgentRegistration[];
  /** Stages with work waiting and no live agent serving them. */
  waiting: string[];
};

/** Stages that have consumers: the built-ins, and every stage used or served since. */
async function knownStages(jsm: JetStreamManager): Promise<string[]> {
  const stages = new Set<string>(BUILTIN_STAGES);
  for await (const ci of jsm.consumers.list(STREAMS.tasks)) {
    const m = /^([a-z][a-z0-9-]*)-(high|normal|low)$/.exec(ci.name);
    if (m) stages.add(m[1]!);
  }
  return [...stages];
}

export async function readStatus(jsm: JetStreamManager, only?: string[]): Promise<SwarmStatus> {
  const stages = only ?? (await knownStages(jsm));
  const sources = stages.flatMap((s) => taskSources(s));
  const infos = await Promise.all(
    sources.map((s) => jsm.consumers.info(s.stream, s.consumer).catch(() => undefined)),
  );
  const agents = await listAgents(jsm);
  const rows = sources.map((s, i) => ({
    stage: s.stage,
    priority: s.priority,
    backlog: infos[i]?.num_pending ?? 0,
    inFlight: infos[i]?.num_ack_pending ?? 0,
    redelivered: infos[i]?.num_redelivered ?? 0,
    maxAckPending: infos[i]?.config.max_ack_pending ?? 0,
  }));
  const waiting = stages.filter(
    (st) => rows.some((r) => r.stage === st && r.backlog + r.inFlight > 0) && countServing(agents, st) === 0,
  );
  return { at: Date.now(), stages: rows, agents, waiting };
}
