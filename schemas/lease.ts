// Leases in the docswarm-leases bucket: `task.<taskId>` says which agent holds a task and until when;
// `leader.coordinator` says which coordinator leads. Both carry a per-key TTL, so a dead holder's
// lease lapses by itself.
import { z } from "zod";
import { EpochMs, StageName, TaskId } from "./common.ts";

export const TaskLease = z
  .object({
    v: z.literal(1),
    taskId: TaskId,
    agentId: z.string(),
    hostId: z.string(),
    stage: StageName,
    /** Where the task message lives, so a waiting agent can tell whether it was acked meanwhile. */
    stream: z.string(),
    seq: z.number().int().positive(),
    delivery: z.number().int().positive(),
    renewedAt: EpochMs,
    expiresAt: EpochMs,
  })
  .meta({ id: "TaskLease" });
export type TaskLease = z.infer<typeof TaskLease>;

export const LeaderLease = z
  .object({
    v: z.literal(1),
    /** The coordinator holding the lease. */
    holderId: z.string().min(1),
    hostname: z.string(),
    pid: z.number().int(),
    /**
     * The revision of the write that won the election: grows with every new leader, so it orders
     * terms and fences a deposed leader. 0 in the very first write, before the revision is known.
     */
    term: z.number().int().nonnegative(),
    acquiredAt: EpochMs,
    renewedAt: EpochMs,
    expiresAt: EpochMs,
  })
  .meta({ id: "LeaderLease" });
export type LeaderLease = z.infer<typeof LeaderLease>;
