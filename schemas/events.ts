// Events on docswarm.events.<type>.<key>: what happened, for dashboards, `docswarm watch` and clients.
// Notifications, never the source of truth (that is KV and the streams); kept 1 h in DOCSWARM_EVENTS.
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
    /** Pages of the chunk whose result this event counts (so rates need no earlier event). */
    chunkPages: z.number().int().nonnegative().optional(),
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

/** Tasks of a stage were released but no live agent serves that stage: the work waits for one. */
export const StageWaitingEvent = z
  .object({
    ...base,
    type: z.literal("stage.waiting"),
    stage: StageName,
    docId: DocId,
    tasks: z.number().int().positive(),
  })
  .meta({ id: "StageWaitingEvent" });

/** The autoscaler changed a stage's desired agent count. */
export const ScaleEvent = z
  .object({
    ...base,
    type: z.literal("scale.decided"),
    stage: StageName,
    from: z.number().int().nonnegative(),
    to: z.number().int().nonnegative(),
    reason: z.string(),
  })
  .meta({ id: "ScaleEvent" });

/** An agent host started an agent, or drained one, to follow the desired scale. */
export const AgentScaledEvent = z
  .object({
    ...base,
    type: z.enum(["agent.spawned", "agent.terminated"]),
    agentId: z.string(),
    hostId: z.string(),
    stages: z.array(StageName),
    reason: z.string(),
  })
  .meta({ id: "AgentScaledEvent" });

/** The number of live agents serving a stage changed (agents joined, drained or were lost). */
export const ScaleChangedEvent = z
  .object({
    ...base,
    type: z.literal("scale.changed"),
    stage: StageName,
    previous: z.number().int().nonnegative(),
    agents: z.number().int().nonnegative(),
    reason: z.enum(["agent.joined", "agent.lost", "agent.drained"]),
  })
  .meta({ id: "ScaleChangedEvent" });

/** A task failed for good (bad input, or its last delivery failed); its document fails with it. */
export const TaskFailedEvent = z
  .object({
    ...base,
    type: z.literal("task.failed"),
    docId: DocId,
    taskId: z.string(),
    stage: StageName,
    agentId: z.string(),
    delivery: z.number().int().positive(),
    error: ErrorInfo,
  })
  .meta({ id: "TaskFailedEvent" });

/** An agent joined, drained (finished its work and deregistered), or was lost (its heartbeats stopped and its registration lapsed). */
export const AgentEvent = z
  .object({
    ...base,
    type: z.enum(["agent.joined", "agent.drained", "agent.lost"]),
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
    /** Why, as the entry's Docswarm-Dlq-Reason header says it (absent from older coordinators). */
    reason: z.string().optional(),
  })
  .meta({ id: "DeadLetterEvent" });

/**
 * A stream, bucket or object store crossed the warning share of one of its limits (storage.high),
 * or fell back below it (storage.ok). Published by the leading coordinator, which looks every few
 * seconds; a full done stream drops its oldest results, a full jobs bucket stops new documents.
 */
export const StorageEvent = z
  .object({
    ...base,
    type: z.enum(["storage.high", "storage.ok"]),
    /** The name users see (DOCSWARM_DONE, docswarm-jobs, ...). */
    name: z.string(),
    kind: z.enum(["stream", "kv", "objectstore"]),
    /** Share of its tightest limit in use, 0..1. */
    used: z.number().nonnegative(),
    limitedBy: z.enum(["bytes", "messages"]),
    bytes: z.number().int().nonnegative(),
    maxBytes: z.number().int(),
    messages: z.number().int().nonnegative(),
    maxMsgs: z.number().int(),
    warnRatio: z.number().positive(),
  })
  .meta({ id: "StorageEvent" });

// Add new event kinds here; readers ignore types they do not know (decode fails, event skipped).
export const SwarmEvent = z
  .discriminatedUnion("type", [
    DocAcceptedEvent,
    DocProgressEvent,
    DocFinishedEvent,
    StageWaitingEvent,
    ScaleEvent,
    AgentScaledEvent,
    AgentEvent,
    ScaleChangedEvent,
    TaskFailedEvent,
    LeaderEvent,
    DeadLetterEvent,
    StorageEvent,
  ])
  .meta({ id: "SwarmEvent" });
export type SwarmEvent = z.infer<typeof SwarmEvent>;
export type SwarmEventType = SwarmEvent["type"];
