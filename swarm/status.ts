// A snapshot of the swarm read from NATS: consumers per stage and priority, dead letters, agents,
// the coordinator, documents in progress, last-minute throughput and warnings (observability/status.ts).
import type { JetStreamManager } from "@nats-io/jetstream";
import { readSwarmStatus } from "../observability/index.ts";
import type { StageStatus, SwarmStatus } from "../schemas/index.ts";
import { BUILTIN_STAGES } from "../streams/index.ts";

export type { StageStatus, SwarmStatus };

export function readStatus(
  jsm: JetStreamManager,
  stages: string[] = [...BUILTIN_STAGES],
): Promise<SwarmStatus> {
  return readSwarmStatus(jsm, { stages });
}
