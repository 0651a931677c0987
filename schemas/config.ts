// Configuration of the topology, the stages and the CLI; every knob has a default that works on one machine.
import { z } from "zod";
import { Priority, StageName } from "./common.ts";
import { NatsAuth } from "./connection.ts";
import { DEFAULT_ENGINE, EngineName } from "./document.ts";

const MiB = 1024 * 1024;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const TopologyConfig = z
  .object({
    /** 1 on one server, 3 on a cluster. */
    replicas: z.number().int().min(1).max(5).default(1),
    /** Short because agents send in-progress acks; it bounds how fast a dead agent's work moves on. */
    ackWaitMs: z.number().int().min(500).default(2000),
    maxDeliver: z.number().int().min(1).max(100).default(5),
    /** Redelivery delays after the first ack wait; fewer entries than maxDeliver. */
    backoffMs: z.array(z.number().int().positive()).default([2000, 2000, 4000, 8000]),
    /**
     * Ack wait of the coordinator's results consumer: how long results a crashed leader had pulled
     * wait before its successor gets them. The coordinator pulls small batches to stay well inside it.
     */
    coordinatorAckWaitMs: z.number().int().min(1000).default(5000),
    /** Per stage and priority; delivery stops silently when reached, so status shows it. */
    maxAckPending: z.number().int().positive().default(2000),
    /** Nats-Msg-Id dedup window; covers the longest redelivery chain with room to spare. */
    dedupWindowMs: z
      .number()
      .int()
      .positive()
      .default(10 * 60_000),
    /** Stages beyond the built-in ones whose consumers should exist. */
    extraStages: z.array(StageName).default([]),
    submitMaxMsgs: z.number().int().positive().default(100_000),
    submitMaxBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * MiB),
    tasksMaxMsgs: z.number().int().positive().default(1_000_000),
    tasksMaxBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * MiB),
    resultsMaxBytes: z
      .number()
      .int()
      .positive()
      .default(2048 * MiB),
    resultsMaxAgeMs: z.number().int().positive().default(DAY),
    doneMaxBytes: z
      .number()
      .int()
      .positive()
      .default(2048 * MiB),
    doneMaxAgeMs: z
      .number()
      .int()
      .positive()
      .default(7 * DAY),
    /**
     * A final result (its whole JSON, inline or in the object store) above this is not stored: the
     * document fails with RESULT_TOO_LARGE instead, so one huge result cannot evict many others.
     */
    doneMaxResultBytes: z
      .number()
      .int()
      .positive()
      .default(64 * MiB),
    /** Final results too large for one message (object store docswarm-results). */
    resultObjectsMaxBytes: z
      .number()
      .int()
      .positive()
      .default(4096 * MiB),
    eventsMaxBytes: z
      .number()
      .int()
      .positive()
      .default(256 * MiB),
    eventsMaxAgeMs: z.number().int().positive().default(HOUR),
    dlqMaxBytes: z
      .number()
      .int()
      .positive()
      .default(256 * MiB),
    dlqMaxAgeMs: z
      .number()
      .int()
      .positive()
      .default(7 * DAY),
    docsMaxBytes: z
      .number()
      .int()
      .positive()
      .default(4096 * MiB),
    docsMaxAgeMs: z.number().int().positive().default(DAY),
    /** Backstop for jobs in flight: a job record older than this expires. */
    jobsMaxAgeMs: z
      .number()
      .int()
      .positive()
      .default(7 * DAY),
    /** The jobs bucket holds jobs in flight, plus finished ones for jobsFinishedTtlMs. */
    jobsMaxBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * MiB),
    /** How long a finished job stays in the jobs bucket (its final result stays in the done stream). */
    jobsFinishedTtlMs: z
      .number()
      .int()
      .min(1000)
      .default(5 * 60_000),
    agentsMaxBytes: z
      .number()
      .int()
      .positive()
      .default(64 * MiB),
    leasesMaxBytes: z
      .number()
      .int()
      .positive()
      .default(64 * MiB),
    scaleMaxBytes: z
      .number()
      .int()
      .positive()
      .default(4 * MiB),
    pipelinesMaxBytes: z
      .number()
      .int()
      .positive()
      .default(4 * MiB),
    advisoriesMaxBytes: z
      .number()
      .int()
      .positive()
      .default(64 * MiB),
    /** Share of a limit at which status warns and the leader emits storage.high. */
    storageWarnRatio: z.number().gt(0).lte(1).default(0.8),
    memoryStorage: z.boolean().default(false),
  })
  .meta({ id: "TopologyConfig" });
export type TopologyConfig = z.infer<typeof TopologyConfig>;
export type TopologyOptions = z.input<typeof TopologyConfig>;

export const ProcessingConfig = z
  .object({
    /** Documents with more pages are rejected with PDF_TOO_MANY_PAGES. */
    maxPages: z.number().int().positive().default(10_000),
    /**
     * Upper bound on pages per extract chunk: it bounds a chunk's run time and result size (balance
     * comes from chunksPerAgent and page costs). Every chunk costs a task, a result, a job update
     * and an event, so long documents are not cut finer than they need.
     */
    chunkMaxPages: z.number().int().positive().default(48),
    /** Aim for at least this many chunks per live extract agent, so work balances. */
    chunksPerAgent: z.number().int().positive().default(3),
    /**
     * A document of at most this many pages (and at most chunkMaxPages) in the default pipeline is
     * one task: the agent that splits it extracts it too (agents/stages/whole-document.ts).
     */
    wholeDocumentMaxPages: z.number().int().positive().default(16),
    /**
     * When the swarm is busy (the submission's delivery shows at least one more submission waiting
     * per other live extract agent; a lone agent is always busy) and no work of a higher priority
     * waits, a document of at most this many pages in the default pipeline is one task too,
     * whatever chunkMaxPages says: chunks would add no parallelism, only their tasks, results and
     * merge. Such a document yields between pages when higher-priority work comes to wait (its
     * pages so far become chunk 0 of a job, the rest is chunked). The cap bounds what a crash
     * redoes and how much a document behind it in its own priority waits. 0 turns it off.
     */
    busyWholeDocumentMaxPages: z.number().int().nonnegative().default(512),
    /** Cut chunks at equal shares of estimated page cost (content-stream size) instead of equal page counts. */
    adaptiveChunks: z.boolean().default(true),
    /** A task running longer than this is terminated by the watchdog and redelivered. */
    taskTimeoutMs: z.number().int().positive().default(60_000),
    /** The PDF engine documents are read with unless their submission asks for another (Docswarm-Engine). */
    engine: EngineName.default(DEFAULT_ENGINE),
    /** The other engine reads what the chosen one cannot (a document it cannot open, a page it gets no text from). */
    fallback: z.boolean().default(true),
    /**
     * What a document's streams may decompress to in all (images aside), checked before an engine
     * sees it: above it the document fails with PDF_RESOURCE_LIMIT (a decompression bomb).
     */
    maxInflatedBytes: z
      .number()
      .int()
      .positive()
      .default(256 * MiB),
    /** Documents larger than this are refused with PDF_TOO_LARGE, inline or from the object store. */
    maxDocumentBytes: z
      .number()
      .int()
      .positive()
      .default(256 * MiB),
  })
  .meta({ id: "ProcessingConfig" });
export type ProcessingConfig = z.infer<typeof ProcessingConfig>;

export const CoordinatorConfig = z
  .object({
    /** The leader lease lapses this long after the leader's last renewal; a standby then takes over. */
    leaderTtlMs: z.number().int().min(1000).default(2500),
    /** How often the leader renews its lease (a renewal may be late by TTL − renewal − margin). */
    leaderRenewMs: z.number().int().positive().default(750),
    /** How often a standby looks at the lease. */
    standbyPollMs: z.number().int().positive().default(250),
    /** Tasks on a subject no consumer serves (an unknown stage) are dead-lettered after this long. */
    unknownStageGraceMs: z.number().int().positive().default(60_000),
    /** How often the leader looks for such tasks. */
    unknownStageCheckMs: z.number().int().positive().default(10_000),
    /** How often the leader compares every stream and bucket with its limits (storage.high). */
    storageCheckMs: z.number().int().positive().default(5000),
  })
  .meta({ id: "CoordinatorConfig" });
export type CoordinatorConfig = z.infer<typeof CoordinatorConfig>;
export type CoordinatorOptionsInput = z.input<typeof CoordinatorConfig>;

/** What `docswarm process` writes per document: the FinalResult as JSON, or its text. */
export const OutputFormat = z.enum(["json", "txt"]);
export type OutputFormat = z.infer<typeof OutputFormat>;

export const ProcessCommandOptions = z.object({
  paths: z.array(z.string().min(1)).min(1, "give at least one file or folder"),
  agents: z.coerce.number().int().min(1).max(512),
  out: z.string().min(1),
  /** `--format json,txt`: one or more formats, comma-separated. */
  format: z
    .string()
    .transform((s) => [...new Set(s.split(",").map((f) => f.trim()))])
    .pipe(z.array(OutputFormat).min(1)),
  json: z.boolean(),
  priority: Priority,
});
export type ProcessCommandOptions = z.infer<typeof ProcessCommandOptions>;

/** What an agent thread is started with (workerData). */
export const AgentThreadConfig = z.object({
  agentId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
  servers: z.array(z.string()).min(1),
  auth: NatsAuth.optional(),
  /** Built-in stage names, or module URLs whose default export is a stage definition. */
  stages: z.array(z.string()).min(1),
  slots: z.number().int().positive(),
  topology: TopologyConfig,
  processing: ProcessingConfig,
});
export type AgentThreadConfig = z.infer<typeof AgentThreadConfig>;
