// Agent registration in the docswarm-agents bucket, keyed by agent id, refreshed every heartbeat.
import { z } from "zod";
import { EpochMs, StageName } from "./common.ts";

export const AGENT_STATUSES = ["starting", "idle", "busy", "draining", "stopped"] as const;
export const AgentStatus = z.enum(AGENT_STATUSES);
export type AgentStatus = z.infer<typeof AgentStatus>;

export const AgentRegistration = z
  .object({
    v: z.literal(1),
    agentId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
    hostId: z.string(),
    hostname: z.string(),
    pid: z.number().int(),
    stages: z.array(StageName),
    status: AgentStatus,
    /** Tasks this agent runs at once. */
    concurrency: z.number().int().positive(),
    currentTasks: z.array(z.string()),
    tasksDone: z.number().int().nonnegative(),
    tasksFailed: z.number().int().nonnegative(),
    restarts: z.number().int().nonnegative(),
    startedAt: EpochMs,
    heartbeatAt: EpochMs,
    /** Resident set size of the whole host process (threads share it). */
    hostRssBytes: z.number().int().nonnegative(),
    /** JavaScript heap in use by this agent's own thread (its V8 isolate), sampled at a heartbeat. */
    heapUsedBytes: z.number().int().nonnegative().optional(),
  })
  .meta({ id: "AgentRegistration" });
export type AgentRegistration = z.infer<typeof AgentRegistration>;
