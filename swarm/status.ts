// A snapshot of the swarm read from NATS: consumers per stage and priority, agents, jobs.
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { type AgentRegistration, CoordinatorStatus, decodeJson, type Priority } from "../schemas/index.ts";
import { BUILTIN_STAGES, listAgents, subjects, taskSources } from "../streams/index.ts";

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
  /** The leading coordinator's view (term, agents lost); null when no coordinator answered. */
  coordinator?: CoordinatorStatus | null;
};

/** Asks the leading coordinator for its status; null when none answers in time. */
export async function readCoordinatorStatus(
  nc: NatsConnection,
  timeoutMs = 1000,
): Promise<CoordinatorStatus | null> {
  try {
    const reply = await nc.request(subjects.coordinatorStatus, new Uint8Array(), { timeout: timeoutMs });
    const s = decodeJson(CoordinatorStatus, reply.data);
    return s.ok ? s.value : null;
  } catch {
    return null;
  }
}

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
