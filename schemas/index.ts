/**
 * Every message, KV value, config and result shape of docswarm, as zod schemas (each with the
 * type of the same name), and their JSON Schemas for clients in other languages.
 * @module docswarm/schemas
 */
export { MaxDeliveriesAdvisory } from "./advisory.ts";
export { AGENT_STATUSES, AgentRegistration, AgentStatus } from "./agent.ts";
export { JSON_SCHEMA_CATALOG, jsonSchemas } from "./catalog.ts";
export {
  DocId,
  EpochMs,
  ERROR_CODES,
  ErrorCode,
  ErrorInfo,
  PRIORITIES,
  Priority,
  StageName,
  TaskId,
} from "./common.ts";
export {
  AgentThreadConfig,
  CoordinatorConfig,
  type CoordinatorOptionsInput,
  OutputFormat,
  ProcessCommandOptions,
  ProcessingConfig,
  TopologyConfig,
  type TopologyOptions,
} from "./config.ts";
export {
  DEFAULT_NATS_URL,
  NatsAuth,
  NatsCliContext,
  NatsConnectionConfig,
  NatsTls,
} from "./connection.ts";
export { CoordinatorStatus, LostAgent } from "./coordinator-status.ts";
export { JobResult, JobSpec, type JobSpecInput, TaskSpec } from "./dag.ts";
export { DeadLetter } from "./dead-letter.ts";
export {
  DEFAULT_ENGINE,
  DocMeta,
  DocReading,
  DocWarning,
  ENGINES,
  EngineName,
  JobReading,
  ObjectRef,
  PageError,
  PageRange,
  PageText,
  WARNING_CODES,
  WarningCode,
} from "./document.ts";
export {
  AgentEvent,
  AgentScaledEvent,
  DeadLetterEvent,
  DocAcceptedEvent,
  DocFinishedEvent,
  DocProgressEvent,
  LeaderEvent,
  ScaleChangedEvent,
  ScaleEvent,
  StageWaitingEvent,
  StorageEvent,
  SwarmEvent,
  type SwarmEventType,
  TaskFailedEvent,
} from "./events.ts";
export { FinalResult, Timings } from "./final.ts";
export { DLQ_HEADERS, FinalSummary, HEADERS, SubmitHeaders } from "./headers.ts";
export { INPUT_MODES, InputMode, JOB_STATUSES, Job, JobTask, TASK_STATES, TaskKey, TaskMode } from "./job.ts";
export { LeaderLease, TaskLease } from "./lease.ts";
export {
  BUILTIN_STAGES,
  ChunkStageInput,
  DEFAULT_PIPELINE_TEXT,
  DocumentStageInput,
  formatPipeline,
  Pipeline,
  PipelineStep,
  parsePipeline,
  STAGE_SCOPES,
  StageScope,
} from "./pipeline.ts";
export {
  ExtractOutput,
  MergeOutput,
  SplitFailure,
  SplitFinished,
  SplitOutput,
  TaskResult,
} from "./result.ts";
export { AutoscalerConfig, type AutoscalerOptions, ScaleDecision } from "./scale.ts";
export {
  AccountStorage,
  AgentView,
  CoordinatorSummary,
  DocumentProgress,
  STATUS_WARNINGS,
  StageStatus,
  StatusWarning,
  StorageStatus,
  StorageUse,
  SwarmStatus,
  Throughput,
} from "./status.ts";
export { ExtractInput, MergeInput, Task, type TaskInput } from "./task.ts";
export { type Decoded, decodeJson, validate } from "./validate.ts";
