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

const agentFields = {
  ...base,
  agentId: z.string(),
  hostId: z.string(),
  /** Stages the agent serves (its capabilities). */
  stages: z.array(StageName),
};

/** An agent registered for the first time. */
export const AgentJoinedEvent = z
  .object({ ...agentFields, type: z.literal("agent.joined") })
  .meta({ id: "AgentJoinedEvent" });

/** An agent's registration expired without a goodbye: its host died or lost NATS. */
export const AgentLostEvent = z
  .object({ ...agentFields, type: z.literal("agent.lost") })
  .meta({ id: "AgentLostEvent" });

/** An agent finished its work in flight and deregistered. */
export const AgentDrainedEvent = z
  .object({ ...agentFields, type: z.literal("agent.drained") })
  .meta({ id: "AgentDrainedEvent" });

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

export const SwarmEvent = z
  .discriminatedUnion("type", [
    DocAcceptedEvent,
    DocProgressEvent,
    DocFinishedEvent,
    StageWaitingEvent,
    ScaleEvent,
    AgentScaledEvent,
    AgentJoinedEvent,
    AgentLostEvent,
    AgentDrainedEvent,
    ScaleChangedEvent,
    TaskFailedEvent,
  ])
  .meta({ id: "SwarmEvent" });
export type SwarmEvent = z.infer<typeof SwarmEvent>;
export type SwarmEventType = SwarmEvent["type"];
