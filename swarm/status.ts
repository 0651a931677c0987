// A snapshot of the swarm read from NATS: consumers per stage and priority, agents, jobs.
import type { JetStreamManager } from "@nats-io/jetstream";
import type { AgentRegistration, Priority } from "../schemas/index.ts";
import { BUILTIN_STAGES, listAgents, taskSources } from "../streams/index.ts";

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

export type SwarmStatus = { at: number; stages: StageStatus[]; agents: AgentRegistration[] };

export async function readStatus(
  jsm: JetStreamManager,
  stages: string[] = [...BUILTIN_STAGES],
): Promise<SwarmStatus> {
  const sources = stages.flatMap((s) => taskSources(s));
  const infos = await Promise.all(
    sources.map((s) => jsm.consumers.info(s.stream, s.consumer).catch(() => undefined)),
  );
  return {
    at: Date.now(),
    stages: sources.map((s, i) => ({
      stage: s.stage,
      priority: s.priority,
      backlog: infos[i]?.num_pending ?? 0,
      inFlight: infos[i]?.num_ack_pending ?? 0,
      redelivered: infos[i]?.num_redelivered ?? 0,
      maxAckPending: infos[i]?.config.max_ack_pending ?? 0,
    })),
    agents: await listAgents(jsm),
  };
}
