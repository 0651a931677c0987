// A snapshot of the swarm, read from NATS (consumer info, KV, the events stream): what
// `docswarm status --json` prints and what the dashboard renders.
import { z } from "zod";
import { AgentRegistration } from "./agent.ts";
import { DocId, EpochMs, Priority, StageName } from "./common.ts";
import { JOB_STATUSES } from "./job.ts";

const count = z.number().int().nonnegative();

export const StageStatus = z
  .object({
    stage: StageName,
    priority: Priority,
    /** Waiting in the stream, not yet delivered. */
    backlog: count,
    /** Delivered to an agent, not yet acked. */
    inFlight: count,
    /** Delivered more than once and not yet acked. */
    redelivered: count,
    /** Pull requests from agents waiting at the consumer. */
    waiting: count,
    maxAckPending: count,
    /** Delivery stops silently while inFlight is at maxAckPending. */
    atMaxAckPending: z.boolean(),
  })
  .meta({ id: "StageStatus" });
export type StageStatus = z.infer<typeof StageStatus>;

export const AgentView = AgentRegistration.extend({
  /** Since the last registration refresh, as seen by the reader. */
  heartbeatAgeMs: z.number().int(),
}).meta({ id: "AgentView" });
export type AgentView = z.infer<typeof AgentView>;

export const CoordinatorSummary = z
  .object({
    /** Holder of the leader lease (docswarm-leases, leader.coordinator), when one is written. */
    leader: z.string().nullable(),
    /** The lease's revision: the leader's term. */
    term: z.number().int().nullable(),
    /** Someone is pulling from the coordinator's durable consumer. */
    consuming: z.boolean(),
    /** Task results not yet processed by the coordinator. */
    pendingResults: count,
  })
  .meta({ id: "CoordinatorSummary" });
export type CoordinatorSummary = z.infer<typeof CoordinatorSummary>;

export const DocumentProgress = z
  .object({
    docId: DocId,
    source: z.string().nullable(),
    status: z.enum(JOB_STATUSES),
    priority: Priority,
    pagesDone: count,
    pageCount: count,
    chunksDone: count,
    chunks: count,
    submittedAt: EpochMs,
    updatedAt: EpochMs,
    /** Set for failed documents. */
    errorCode: z.string().optional(),
    errorMessage: z.string().optional(),
  })
  .meta({ id: "DocumentProgress" });
export type DocumentProgress = z.infer<typeof DocumentProgress>;

export const Throughput = z
  .object({
    windowMs: count,
    /** Pages extracted in the window (from progress events). */
    pages: count,
    pagesPerSecond: z.number().nonnegative(),
    docsDone: count,
    docsFailed: count,
    /** Tasks finished per stage in the window. */
    tasks: z.record(z.string(), count),
  })
  .meta({ id: "Throughput" });
export type Throughput = z.infer<typeof Throughput>;

/** Use against limits of one stream, bucket or object store. */
export const StorageUse = z
  .object({
    name: z.string(),
    kind: z.enum(["stream", "kv", "objectstore"]),
    /** The JetStream stream behind it. */
    stream: z.string(),
    /** What it holds, and what happens at its limits (the documented reason for them). */
    holds: z.string(),
    atLimit: z.string(),
    /** False when the server does not have it (no topology yet, or removed by hand). */
    exists: z.boolean(),
    bytes: count,
    /** -1: no limit. */
    maxBytes: z.number().int(),
    messages: count,
    maxMsgs: z.number().int(),
    /** 0: no age limit. */
    maxAgeMs: count,
    maxMsgSize: z.number().int(),
    replicas: count,
    /** Share of the tightest limit in use. */
    used: z.number().nonnegative(),
    limitedBy: z.enum(["bytes", "messages", "none"]),
  })
  .meta({ id: "StorageUse" });
export type StorageUse = z.infer<typeof StorageUse>;

/** The JetStream account's use against its limits (-1: none set), across every stream. */
export const AccountStorage = z
  .object({
    fileBytes: count,
    memoryBytes: count,
    maxFileBytes: z.number().int(),
    maxMemoryBytes: z.number().int(),
    streams: count,
    consumers: count,
  })
  .meta({ id: "AccountStorage" });
export type AccountStorage = z.infer<typeof AccountStorage>;

export const StorageStatus = z
  .object({
    items: z.array(StorageUse),
    account: AccountStorage.nullable(),
    /** Share of a limit at which a warning (and a storage.high event) fires. */
    warnRatio: z.number().positive(),
  })
  .meta({ id: "StorageStatus" });
export type StorageStatus = z.infer<typeof StorageStatus>;

export const STATUS_WARNINGS = [
  "STAGE_WITHOUT_AGENTS",
  "MAX_ACK_PENDING",
  "NO_COORDINATOR",
  "DEAD_LETTERS",
  "AGENT_STALE",
  "STORAGE_HIGH",
  "TOPOLOGY_MISSING",
] as const;

export const StatusWarning = z
  .object({
    code: z.enum(STATUS_WARNINGS),
    message: z.string(),
    stage: StageName.optional(),
    priority: Priority.optional(),
    /** The stream, bucket or object store a storage warning is about. */
    resource: z.string().optional(),
  })
  .meta({ id: "StatusWarning" });
export type StatusWarning = z.infer<typeof StatusWarning>;

export const SwarmStatus = z
  .object({
    v: z.literal(1),
    at: EpochMs,
    stages: z.array(StageStatus),
    /** Messages per stage in the dead-letter stream. */
    deadLetters: z.record(z.string(), count),
    agents: z.array(AgentView),
    /** Live agents per capability, by state. */
    agentsByStage: z.record(z.string(), z.record(z.string(), count)),
    coordinator: CoordinatorSummary,
    /** Documents not finished yet (status running), oldest first. */
    documents: z.array(DocumentProgress),
    throughput: Throughput,
    /** Every stream, bucket and object store against its limits. */
    storage: StorageStatus,
    warnings: z.array(StatusWarning),
  })
  .meta({ id: "SwarmStatus" });
export type SwarmStatus = z.infer<typeof SwarmStatus>;
