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

/** An agent host started or drained an agent to follow the desired scale (or on request). */
export const AgentScaledEvent = z
  .object({
    ...base,
    type: z.enum(["agent.spawned", "agent.drained"]),
    agentId: z.string(),
    hostId: z.string(),
    stages: z.array(StageName),
    reason: z.string(),
  })
  .meta({ id: "AgentScaledEvent" });

export const SwarmEvent = z
  .discriminatedUnion("type", [
    DocAcceptedEvent,
    DocProgressEvent,
    DocFinishedEvent,
    StageWaitingEvent,
    ScaleEvent,
    AgentScaledEvent,
  ])
  .meta({ id: "SwarmEvent" });
export type SwarmEvent = z.infer<typeof SwarmEvent>;
