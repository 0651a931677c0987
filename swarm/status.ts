// A snapshot of the swarm read from NATS: consumers per stage and priority, dead letters, agents,
// the coordinator, documents in progress, last-minute throughput and warnings (observability/status.ts),
// and what the leading coordinator itself reports (its term, agents it saw lost).
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { readSwarmStatus } from "../observability/index.ts";
import { CoordinatorStatus, decodeJson, type StageStatus, type SwarmStatus } from "../schemas/index.ts";
import { BUILTIN_STAGES, subjects } from "../streams/index.ts";

export type { StageStatus, SwarmStatus };

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

export function readStatus(
  jsm: JetStreamManager,
  stages: string[] = [...BUILTIN_STAGES],
): Promise<SwarmStatus> {
  return readSwarmStatus(jsm, { stages });
}
