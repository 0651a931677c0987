// Events on docswarm.events.>: what happened, for dashboards, `docswarm watch` and clients.
import { z } from "zod";
import { DocId, EpochMs, ErrorInfo, Priority, StageName } from "./common.ts";

const base = { at: EpochMs };

export const DocAcceptedEvent = z
  .object({
    ...base,
    type: z.literal("doc.accepted"),
    docId: DocId,
    runId: z.string(),
    priority: Priority,
    pageCount: z.number().int().nonnegative(),
    chunks: z.number().int().nonnegative(),
  })
  .meta({ id: "DocAcceptedEvent" });

export const DocProgressEvent = z
  .object({
    ...base,
    type: z.literal("doc.progress"),
    docId: DocId,
    stage: StageName,
    done: z.number().int().nonnegative(),
    total: z.number().int().nonnegative(),
    pagesDone: z.number().int().nonnegative(),
    pageCount: z.number().int().nonnegative(),
  })
  .meta({ id: "DocProgressEvent" });

export const DocFinishedEvent = z
  .object({
    ...base,
    type: z.enum(["doc.done", "doc.failed"]),
    docId: DocId,
    pageCount: z.number().int().nonnegative(),
    totalMs: z.number().nonnegative(),
    error: ErrorInfo.optional(),
  })
  .meta({ id: "DocFinishedEvent" });

/** An agent joined, left on drain, or was lost (its heartbeats stopped and its registration lapsed). */
export const AgentEvent = z
  .object({
    ...base,
    type: z.enum(["agent.joined", "agent.left", "agent.lost"]),
    agentId: z.string(),
    hostId: z.string(),
    stages: z.array(StageName),
    lastHeartbeatAt: EpochMs.nullable(),
    /** Tasks the agent reported at its last heartbeat (for agent.lost: what is being redelivered). */
    tasks: z.array(z.string()),
  })
  .meta({ id: "AgentEvent" });

/** A coordinator won the election (term = the revision of its winning write) or stepped down. */
export const LeaderEvent = z
  .object({
    ...base,
    type: z.enum(["coordinator.elected", "coordinator.deposed"]),
    coordinatorId: z.string(),
    term: z.number().int().nonnegative(),
    reason: z.string().optional(),
  })
  .meta({ id: "LeaderEvent" });

/** A task or submission was copied to docswarm.dlq.<stage> and its document failed. */
export const DeadLetterEvent = z
  .object({
    ...base,
    type: z.literal("task.deadlettered"),
    docId: DocId,
    stage: StageName,
    taskId: z.string().nullable(),
    deliveries: z.number().int().nonnegative(),
    dlqSeq: z.number().int().positive(),
    error: ErrorInfo,
  })
  .meta({ id: "DeadLetterEvent" });

// Add new event kinds here; readers ignore types they do not know (decode fails, event skipped).
export const SwarmEvent = z
  .discriminatedUnion("type", [
    DocAcceptedEvent,
    DocProgressEvent,
    DocFinishedEvent,
    AgentEvent,
    LeaderEvent,
    DeadLetterEvent,
  ])
  .meta({ id: "SwarmEvent" });
export type SwarmEvent = z.infer<typeof SwarmEvent>;
