// What the leading coordinator answers on docswarm.status.coordinator: its term and its view of
// the agents (live, and recently lost with when and what they held).
import { z } from "zod";
import { EpochMs, StageName } from "./common.ts";

export const LostAgent = z
  .object({
    agentId: z.string(),
    hostId: z.string(),
    /** "lost": its registration lapsed (heartbeats stopped); "drained": it deregistered after draining. */
    reason: z.enum(["lost", "drained"]),
    lastHeartbeatAt: EpochMs.nullable(),
    detectedAt: EpochMs,
    /** Tasks it reported at its last heartbeat. */
    tasks: z.array(z.string()),
  })
  .meta({ id: "LostAgent" });
export type LostAgent = z.infer<typeof LostAgent>;

export const CoordinatorStatus = z
  .object({
    v: z.literal(1),
    coordinatorId: z.string(),
    role: z.enum(["leader", "standby"]),
    term: z.number().int().nonnegative(),
    leaderSince: EpochMs.nullable(),
    agents: z.object({
      live: z.array(z.object({ agentId: z.string(), hostId: z.string(), stages: z.array(StageName) })),
      lost: z.array(LostAgent),
    }),
    deadLettered: z.number().int().nonnegative(),
  })
  .meta({ id: "CoordinatorStatus" });
export type CoordinatorStatus = z.infer<typeof CoordinatorStatus>;
